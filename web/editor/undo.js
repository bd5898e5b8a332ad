/**
 * Snapshot undo stack. States are JSON strings of the serialised graph; the
 * editor records one after each interaction that may have edited the graph and
 * the stack keeps it only when it differs from the current one.
 */
export class UndoStack {
  /** At most `limit` past states, and fewer when together they exceed `maxChars` (big graphs). */
  constructor(limit = 100, maxChars = 20_000_000) {
    this.limit = limit;
    this.maxChars = maxChars;
    this.pastChars = 0;
    this.past = [];
    this.future = [];
    this.current = null;
  }

  /** Forget the history; `state` becomes the current state. */
  reset(state) {
    this.past = [];
    this.pastChars = 0;
    this.future = [];
    this.current = state;
  }

  /** Record a state after an edit; returns true when it differs from the current one. */
  record(state) {
    if (state === this.current) return false;
    if (this.current !== null) this.push(this.current);
    this.future = [];
    this.current = state;
    return true;
  }

  /** Change the current state without an undo step (e.g. seeds after a queue). */
  replaceCurrent(state) {
    this.current = state;
  }

  push(state) {
    this.past.push(state);
    this.pastChars += state.length;
    while (this.past.length > this.limit || (this.past.length > 1 && this.pastChars > this.maxChars)) {
      this.pastChars -= this.past.shift().length;
    }
  }

  canUndo() { return this.past.length > 0; }
  canRedo() { return this.future.length > 0; }

  /** Returns the state to restore, or null when there is nothing to undo. */
  undo() {
    if (!this.past.length) return null;
    this.future.push(this.current);
    this.current = this.past.pop();
    this.pastChars -= this.current.length;
    return this.current;
  }

  redo() {
    if (!this.future.length) return null;
    this.push(this.current);
    this.current = this.future.pop();
    return this.current;
  }
}
