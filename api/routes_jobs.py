"""ComfyUI's jobs API: one view of pending, running and finished prompts.

Backed by Loom's SQLite queue and history, so it is right across restarts.

- GET  /api/jobs?status=pending,in_progress,completed,failed&workflow_id=&sort_by=created_at|execution_duration
       &sort_order=asc|desc&limit=&offset=   -> {jobs, pagination: {offset, limit, total, has_more}}
- GET  /api/jobs/{id}          -> the job with outputs, execution_status and workflow
- GET  /api/jobs/{id}/assets   -> {assets: [{filename, subfolder, type, node_id, media_type}]}
- POST /api/jobs/{id}/cancel   -> interrupts it when running, removes it when pending
- POST /api/jobs/cancel {job_ids: [...]} -> {cancelled: [...]}
"""

from __future__ import annotations

from aiohttp import web

from api.errors import BadRequest, json_response, read_json_object

PENDING, IN_PROGRESS, COMPLETED, FAILED = "pending", "in_progress", "completed", "failed"
STATUSES = (PENDING, IN_PROGRESS, COMPLETED, FAILED)
PREVIEWABLE = ("images", "video", "audio")


def _pruned(job: dict) -> dict:
    return {key: value for key, value in job.items() if value is not None}


def _workflow_id(extra_data: dict):
    workflow = (extra_data.get("extra_pnginfo") or {}).get("workflow") if isinstance(extra_data, dict) else None
    return workflow.get("id") if isinstance(workflow, dict) else None


def queued_job(item, status: str) -> dict:
    extra = item.extra_data if isinstance(item.extra_data, dict) else {}
    return _pruned({"id": item.prompt_id, "status": status, "priority": item.number,
                    "create_time": extra.get("create_time"), "outputs_count": 0,
                    "workflow_id": _workflow_id(extra)})


def output_items(outputs: dict):
    """(node_id, media_type, item) for every file a prompt's outputs list."""
    for node_id, node_outputs in (outputs or {}).items():
        if not isinstance(node_outputs, dict):
            continue
        for media_type, items in node_outputs.items():
            if media_type == "animated" or not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict):
                    yield node_id, media_type, item


def _preview(outputs: dict):
    fallback = None
    for node_id, media_type, item in output_items(outputs):
        if media_type in PREVIEWABLE:
            enriched = dict(item, nodeId=node_id, mediaType=media_type)
            if item.get("type") == "output":
                return enriched
            fallback = fallback or enriched
    return fallback


def finished_job(prompt_id: str, entry: dict, full: bool = False) -> dict:
    number, _, prompt, extra_data, _ = (entry.get("prompt") or [None] * 5)[:5]
    extra = extra_data if isinstance(extra_data, dict) else {}
    status = entry.get("status") or {}
    start = end = error = None
    for message in status.get("messages") or []:
        if isinstance(message, (list, tuple)) and len(message) >= 2 and isinstance(message[1], dict):
            if message[0] == "execution_start":
                start = message[1].get("timestamp")
            elif message[0] in ("execution_success", "execution_error", "execution_interrupted"):
                end = message[1].get("timestamp")
                if message[0] == "execution_error":
                    error = message[1]
    outputs = entry.get("outputs") or {}
    job = _pruned({
        "id": prompt_id, "status": FAILED if status.get("status_str") == "error" else COMPLETED,
        "priority": number, "create_time": extra.get("create_time"), "execution_start_time": start,
        "execution_end_time": end, "execution_error": error,
        "outputs_count": sum(1 for _ in output_items(outputs)), "preview_output": _preview(outputs),
        "workflow_id": _workflow_id(extra)})
    if full:
        job.update(outputs=outputs, execution_status=status, workflow={"prompt": prompt, "extra_data": extra})
    return job


def _sort_key(sort_by: str):
    if sort_by == "execution_duration":
        def duration(job):
            start, end = job.get("execution_start_time"), job.get("execution_end_time")
            return end - start if start and end else 0
        return duration
    return lambda job: job.get("create_time") or 0


def _parse_list_query(query) -> dict:
    statuses = STATUSES
    if query.get("status"):
        statuses = tuple(s.strip().lower() for s in query["status"].split(",") if s.strip())
        unknown = [s for s in statuses if s not in STATUSES + ("cancelled",)]
        if unknown:
            raise BadRequest(f"status: unknown value(s) {', '.join(unknown)}; valid: {', '.join(STATUSES)}")
    sort_by = query.get("sort_by", "created_at").lower()
    if sort_by not in ("created_at", "execution_duration"):
        raise BadRequest("sort_by: must be 'created_at' or 'execution_duration'")
    sort_order = query.get("sort_order", "desc").lower()
    if sort_order not in ("asc", "desc"):
        raise BadRequest("sort_order: must be 'asc' or 'desc'")
    limit = None
    if "limit" in query:
        try:
            limit = int(query["limit"])
        except ValueError:
            raise BadRequest("limit: must be an integer") from None
        if limit <= 0:
            raise BadRequest("limit: must be a positive integer")
    try:
        offset = max(0, int(query.get("offset", 0)))
    except ValueError:
        raise BadRequest("offset: must be an integer") from None
    return {"statuses": statuses, "sort_by": sort_by, "descending": sort_order == "desc", "limit": limit,
            "offset": offset, "workflow_id": query.get("workflow_id")}


def add_routes(routes: web.RouteTableDef, server) -> None:
    def all_jobs(statuses) -> list[dict]:
        queue = server.prompt_queue
        jobs = []
        if IN_PROGRESS in statuses:
            jobs += [queued_job(item, IN_PROGRESS) for item in queue.running()]
        if PENDING in statuses:
            jobs += [queued_job(item, PENDING) for item in queue.pending()]
        if COMPLETED in statuses or FAILED in statuses:
            for prompt_id, entry in server.history.items().items():
                job = finished_job(prompt_id, entry)
                if job["status"] in statuses:
                    jobs.append(job)
        return jobs

    def find_or_404(request):
        """(job id, status or None for a finished job, queue item or history entry); 404 when unknown."""
        prompt_id = request.match_info["job_id"]
        status, found = find(prompt_id)
        if found is None:
            raise web.HTTPNotFound(text=f"job {prompt_id!r} not found")
        return prompt_id, status, found

    def find(prompt_id: str):
        for status, items in ((IN_PROGRESS, server.prompt_queue.running()), (PENDING, server.prompt_queue.pending())):
            for item in items:
                if item.prompt_id == prompt_id:
                    return status, item
        entry = server.history.get(prompt_id)
        return (None, entry) if entry is not None else (None, None)

    @routes.get("/jobs")
    async def list_jobs(request):
        options = _parse_list_query(request.query)
        jobs = all_jobs(options["statuses"])
        if options["workflow_id"]:
            jobs = [job for job in jobs if job.get("workflow_id") == options["workflow_id"]]
        jobs.sort(key=_sort_key(options["sort_by"]), reverse=options["descending"])
        total = len(jobs)
        page = jobs[options["offset"]:]
        if options["limit"] is not None:
            page = page[:options["limit"]]
        return json_response({"jobs": page, "pagination": {
            "offset": options["offset"], "limit": options["limit"], "total": total,
            "has_more": options["offset"] + len(page) < total}})

    @routes.get("/jobs/{job_id}")
    async def get_job(request):
        prompt_id, status, found = find_or_404(request)
        return json_response(queued_job(found, status) if status else finished_job(prompt_id, found, full=True))

    @routes.get("/jobs/{job_id}/assets")
    async def job_assets(request):
        _, status, found = find_or_404(request)
        outputs = {} if status else found.get("outputs") or {}
        return json_response({"assets": [dict(item, node_id=node_id, media_type=media_type)
                                         for node_id, media_type, item in output_items(outputs)]})

    def cancel(prompt_id: str) -> bool:
        status, found = find(prompt_id)
        if status == IN_PROGRESS:
            server.executor.interrupt()
            return True
        if status == PENDING:
            return bool(server.prompt_queue.delete([prompt_id]))
        return False

    @routes.post("/jobs/{job_id}/cancel")
    async def cancel_job(request):
        prompt_id, status, _ = find_or_404(request)
        if status is None:
            return json_response({"error": f"job {prompt_id!r} has already finished"}, status=409)
        return json_response({"id": prompt_id, "cancelled": cancel(prompt_id)})

    @routes.post("/jobs/cancel")
    async def cancel_jobs(request):
        data = await read_json_object(request)
        job_ids = data.get("job_ids", data.get("ids"))
        if not isinstance(job_ids, list) or not all(isinstance(i, str) for i in job_ids):
            raise BadRequest("job_ids: expected a list of job ids")
        return json_response({"cancelled": [job_id for job_id in job_ids if cancel(job_id)]})
