/**
 * Live refresh: polls `GET /activemirror/api/changes` every `interval` seconds and tells
 * its listeners when the store's change token moves (a kernel, the command line or this
 * page saved something), or when the server stops or starts answering.
 *
 * Polling pauses while the browser tab is hidden and resumes with an immediate poll when
 * it is shown again. One request at a time: the next poll is scheduled when the last ends.
 */
import { changes } from './api';

export type ChangeListener = () => void;
/** `error` is null once the server answers again. */
export type StatusListener = (error: unknown | null) => void;

export class ChangeWatcher {
  constructor(intervalSeconds: number) {
    this._interval = intervalSeconds;
    this._onVisibility = () => {
      if (!document.hidden) {
        void this.poll();
      }
    };
    document.addEventListener('visibilitychange', this._onVisibility);
    void this.poll();
  }

  /** Seconds between polls; 0 stops live refresh. */
  get interval(): number {
    return this._interval;
  }

  set interval(seconds: number) {
    this._interval = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
    this._schedule();
  }

  /** The last error, or null while the server answers. */
  get error(): unknown | null {
    return this._error;
  }

  onChange(listener: ChangeListener): () => void {
    this._changeListeners.add(listener);
    return () => this._changeListeners.delete(listener);
  }

  onStatus(listener: StatusListener): () => void {
    this._statusListeners.add(listener);
    return () => this._statusListeners.delete(listener);
  }

  /** Ask now (also when polling is off): listeners hear of any change since the last ask. */
  async poll(): Promise<void> {
    if (this._disposed || this._polling) {
      return;
    }
    this._polling = true;
    window.clearTimeout(this._timer);
    try {
      const version = await changes();
      const recovered = this._error !== null;
      // The first answer counts as a change too: whatever was saved between the panels'
      // first loads and this first look would otherwise go unseen until the next save.
      const moved = version !== this._version;
      this._version = version;
      if (recovered) {
        this._error = null;
        this._statusListeners.forEach(listener => listener(null));
      }
      if (moved || recovered) {
        this._changeListeners.forEach(listener => listener());
      }
    } catch (error) {
      this._error = error;
      this._statusListeners.forEach(listener => listener(error));
    } finally {
      this._polling = false;
      this._schedule();
    }
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._timer);
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._changeListeners.clear();
    this._statusListeners.clear();
  }

  private _schedule(): void {
    window.clearTimeout(this._timer);
    if (this._disposed || this._interval <= 0 || this._polling) {
      return;
    }
    this._timer = window.setTimeout(() => {
      // Hidden: stop here; the visibility listener polls (and reschedules) on return.
      if (!document.hidden) {
        void this.poll();
      }
    }, this._interval * 1000);
  }

  private _interval: number;
  private _version: string | null = null;
  private _error: unknown | null = null;
  private _polling = false;
  private _disposed = false;
  private _timer = 0;
  private _onVisibility: () => void;
  private _changeListeners = new Set<ChangeListener>();
  private _statusListeners = new Set<StatusListener>();
}
