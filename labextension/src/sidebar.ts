/**
 * The "Mirror" left-sidebar panel: saved sessions, newest update first, a page at a time.
 */
import { Widget } from '@lumino/widgets';

import { ISessionSummary, listSessions } from './api';
import { button, el, pageCount, plural, timeElement } from './dom';

export const SIDEBAR_ID = 'activemirror-sidebar';

export namespace MirrorSidebar {
  export interface IOptions {
    /** Called when the user picks a session. */
    onOpen: (session: ISessionSummary) => void;
    pageSize?: number;
  }
}

export class MirrorSidebar extends Widget {
  constructor(options: MirrorSidebar.IOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('am-Sidebar');
    this.title.caption = 'Mirror: saved sessions';
    this._onOpen = options.onOpen;
    this._pageSize = options.pageSize ?? 20;

    const header = el('div', 'am-Sidebar-header');
    header.append(el('h2', 'am-Sidebar-heading', 'Mirror'));
    this._refreshButton = button('am-Sidebar-refresh', 'Refresh', 'Reload the session list');
    this._refreshButton.addEventListener('click', () => void this.refresh());
    header.append(this._refreshButton);

    this._status = el('div', 'am-Sidebar-status');
    this._status.setAttribute('aria-live', 'polite');
    this._list = el('ul', 'am-SessionList');
    this._list.setAttribute('aria-label', 'Saved sessions');

    const pager = el('div', 'am-Pager am-Sidebar-pager');
    this._prevButton = button('am-Pager-prev', 'Prev', 'Newer sessions');
    this._nextButton = button('am-Pager-next', 'Next', 'Older sessions');
    this._pageLabel = el('span', 'am-Pager-label');
    this._prevButton.addEventListener('click', () => void this.showPage(this._page - 1));
    this._nextButton.addEventListener('click', () => void this.showPage(this._page + 1));
    pager.append(this._prevButton, this._pageLabel, this._nextButton);

    this.node.append(header, this._status, this._list, pager);
    this._renderPager();
  }

  /** The page shown, counted from 1. */
  get page(): number {
    return this._page;
  }

  get pageSize(): number {
    return this._pageSize;
  }

  /** Reload the current page (staying on it while it still exists). */
  refresh(): Promise<void> {
    return this.showPage(this._page);
  }

  async showPage(page: number): Promise<void> {
    const request = ++this._request;
    const target = Math.max(1, page);
    this.node.dataset.state = 'loading';
    try {
      let result = await listSessions(this._pageSize, (target - 1) * this._pageSize);
      const last = pageCount(result.total, this._pageSize);
      if (target > last && result.total > 0) {
        // Sessions were deleted since the last look: show the new last page.
        result = await listSessions(this._pageSize, (last - 1) * this._pageSize);
      }
      if (request !== this._request) {
        return;
      }
      this._total = result.total;
      this._page = Math.min(target, last);
      this._renderSessions(result.sessions);
      this.node.dataset.state = 'ready';
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._list.replaceChildren();
      this._status.textContent = `Could not load sessions: ${(error as Error).message}`;
      this._status.classList.add('am-mod-error');
      this.node.dataset.state = 'error';
    }
    this._renderPager();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _renderSessions(sessions: ISessionSummary[]): void {
    this._status.classList.remove('am-mod-error');
    this._status.textContent =
      this._total === 0
        ? 'No saved sessions yet. Start one in a notebook with %mirror_session new "Title".'
        : plural(this._total, 'session');
    this._list.replaceChildren(...sessions.map(session => this._renderItem(session)));
  }

  private _renderItem(session: ISessionSummary): HTMLLIElement {
    const item = el('li', 'am-SessionItem');
    item.dataset.sessionId = session.id;
    item.tabIndex = 0;
    item.setAttribute('role', 'button');
    item.title = `Open ${session.title || session.id}`;
    item.append(el('div', 'am-SessionItem-title', session.title || '(untitled)'));
    const meta = el('div', 'am-SessionItem-meta');
    meta.append(
      el('span', 'am-SessionItem-count', plural(session.message_count, 'message')),
      el('span', 'am-SessionItem-sep', ' · '),
      timeElement('am-SessionItem-updated', session.updated_at)
    );
    item.append(meta);
    const open = (): void => this._onOpen(session);
    item.addEventListener('click', open);
    item.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return item;
  }

  private _renderPager(): void {
    const last = pageCount(this._total, this._pageSize);
    this._pageLabel.textContent = `Page ${this._page} of ${last}`;
    this._prevButton.disabled = this._page <= 1;
    this._nextButton.disabled = this._page >= last;
  }

  private _onOpen: (session: ISessionSummary) => void;
  private _pageSize: number;
  private _page = 1;
  private _total = 0;
  private _request = 0;
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
  private _refreshButton: HTMLButtonElement;
  private _prevButton: HTMLButtonElement;
  private _nextButton: HTMLButtonElement;
  private _pageLabel: HTMLSpanElement;
}
