/**
 * The sidebar's sync line: the store's last sync (`GET /activemirror/api/sync`), whichever
 * process ran it — when (relative, the ISO time in its title), where, "pushed N, pulled M",
 * or its error in a warning style. Hidden while the store has never synced. All of it is
 * text nodes: the remote and the error are shown as they are, never as markup.
 */
import { ILastSync, lastSync } from './api';
import { el, relativeTime } from './dom';

/** How often the relative time is written again. */
const AGE_MS = 30_000;

export class SyncLine {
  constructor() {
    this.node = el('div', 'am-SyncLine');
    this.node.setAttribute('aria-label', 'Last sync');
    this.node.hidden = true;
    // "2 minutes ago" ages while nothing changes: say it again now and then.
    this._timer = window.setInterval(() => this._last && this.show(this._last), AGE_MS);
  }

  readonly node: HTMLDivElement;

  /** Ask the server again. A failed request leaves the line as it was: the sidebar's own
   * status line already says when the server is not answering. */
  async refresh(): Promise<void> {
    const token = ++this._token;
    let last: ILastSync | null;
    try {
      last = await lastSync();
    } catch {
      return;
    }
    if (token === this._token) {
      this.show(last);
    }
  }

  show(last: ILastSync | null): void {
    this._last = last;
    this.node.hidden = last === null;
    this.node.classList.toggle('am-mod-warning', !!last?.error);
    delete this.node.dataset.state;
    if (last === null) {
      this.node.replaceChildren();
      return;
    }
    this.node.dataset.state = last.error ? 'failed' : 'ok';
    const then = Date.parse(last.at);
    const now = Date.now();
    // A server clock a little ahead of this one would say "in 2 seconds".
    const ago = Number.isNaN(then) ? last.at : relativeTime(Math.min(then, now), now);
    const when = el('time', 'am-SyncLine-when', ago);
    when.dateTime = last.at;
    when.title = last.at;
    // One line each: what happened, where (cut to the line: the whole path in its title),
    // and why it failed (a few lines at most: all of it in its title).
    const summary = el('div', 'am-SyncLine-summary');
    summary.append(last.error ? 'Sync failed ' : 'Synced ', when);
    if (!last.error) {
      summary.append(
        ' · ',
        el('span', 'am-SyncLine-counts', `pushed ${last.pushed}, pulled ${last.pulled}`)
      );
    }
    const where = el('div', 'am-SyncLine-where', 'with ');
    const remote = el('span', 'am-SyncLine-remote', last.remote);
    where.append(remote);
    where.title = last.remote;
    const parts: HTMLElement[] = [summary, where];
    if (last.error) {
      const error = el('div', 'am-SyncLine-error', last.error);
      error.title = last.error;
      parts.push(error);
    }
    this.node.replaceChildren(...parts);
  }

  dispose(): void {
    window.clearInterval(this._timer);
  }

  private _last: ILastSync | null = null;
  private _timer: number;
  private _token = 0;
}
