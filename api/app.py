"""Build and run the aiohttp application: folders, nodes, queue, worker and routes.

`create_app(args)` is used by server.py and by the tests; `run_server(args)`
blocks until the process is stopped. `args` is an argparse.Namespace; a
missing attribute means its default, so tests can pass a small one. Nothing
here imports torch; start-up is shared with the headless runner (cli.startup).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from api import logs, routes_files, routes_frontend, routes_info, routes_jobs, routes_prompt, routes_user, routes_workflow, ws
from api.errors import error_middleware
from api.prompt_server import PromptServer
from graph.version import LOOM_VERSION
from api.security import StartupError, check_listen_flags, make_access_middleware
from api.worker import PromptWorker
from cli import startup

API_PREFIX = "/api"
SERVER_KEY = web.AppKey("server", PromptServer)


option = startup.flag


def make_executor(args, registry, bus):
    from graph.cache import CacheConfig
    from graph.executor import PromptExecutor

    cache = CacheConfig(
        policy=option(args, "cache", "lru"),
        max_entries=int(option(args, "cache_lru", 64)),
        max_ram_bytes=int(float(option(args, "cache_ram", 8.0)) * 1024 ** 3),
    )
    return PromptExecutor(registry.classes, bus, cache)


def create_app(args) -> web.Application:
    from graph.events import EventBus
    from graph.history import History
    from graph.queue import PromptQueue
    from graph.store import Store

    listen = option(args, "listen", "127.0.0.1")
    auth_token = option(args, "auth_token")
    check_listen_flags(listen, auth_token, bool(option(args, "insecure", False)))
    configured = startup.configure_folders(args)
    startup.configure_devices(args)
    startup.configure_saving(args)

    server = PromptServer(args)  # before the packs load: they may add routes to it
    server.max_upload_bytes = float(option(args, "max_upload_size", 100)) * 1024 * 1024
    app = web.Application(
        middlewares=[make_access_middleware(listen, option(args, "enable_cors_header"), auth_token), error_middleware],
        client_max_size=int(server.max_upload_bytes),
    )
    server.app = app
    app[SERVER_KEY] = server
    server.registry = startup.load_registry(args)
    server.store = Store(Path(configured.user_dir) / "loom.db")
    server.history = History(server.store)
    server.prompt_queue = PromptQueue(server.store, server.history, on_change=server.queue_updated)
    bus = EventBus()
    server.executor = make_executor(args, server.registry, bus)
    server.worker = PromptWorker(server)
    bus.subscribe(server.worker.forward_event)

    server.logs = logs.install(server)
    for module in (routes_prompt, routes_info, routes_files, routes_user, ws, routes_workflow, routes_jobs,
                   routes_frontend, logs):
        module.add_routes(server.routes, server)
    for route in server.routes:
        if isinstance(route, web.RouteDef):
            app.router.add_route(route.method, route.path, route.handler, **route.kwargs)
            app.router.add_route(route.method, API_PREFIX + route.path, route.handler, **route.kwargs)
        else:
            route.register(app.router)
    routes_frontend.add_template_routes(app)
    routes_info.add_web_routes(app, routes_info.frontend_dir(args))

    async def start(app):
        server.loop = asyncio.get_running_loop()
        server.hub.start()
        server.worker.start()

    async def stop(app):
        server.worker.stop()
        server.executor.interrupt()
        await asyncio.to_thread(server.worker.join, 10)
        await server.hub.stop()
        logging.getLogger().removeHandler(server.logs)
        server.store.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return app


async def serve(app: web.Application, listen: str, port: int, started=None) -> None:
    """Serve until SIGINT/SIGTERM; prints the address once it answers."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    hosts = [part.strip() for part in str(listen).split(",") if part.strip()]
    try:
        for host in hosts:
            await web.TCPSite(runner, host, port).start()
        actual_port = runner.addresses[0][1] if runner.addresses else port
        shown = hosts[0] if ":" not in hosts[0] else f"[{hosts[0]}]"
        print(f"Loom listening on http://{shown}:{actual_port}", flush=True)
        logging.getLogger("loom.api").info("Loom %s listening on http://%s:%s", LOOM_VERSION, shown, actual_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if started is not None:
            started(runner)
        await stop.wait()
    finally:
        await runner.cleanup()


def run_server(args) -> None:
    """Start the server and block until it is stopped."""
    startup.configure_logging(args)
    try:
        app = create_app(args)
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(serve(app, option(args, "listen", "127.0.0.1"), int(option(args, "port", 8188))))
