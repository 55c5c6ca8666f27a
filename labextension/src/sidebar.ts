/**
 * The "Mirror" left-sidebar panel: saved sessions, newest update first, a page at a time.
 */
import { Widget } from '@lumino/widgets';

import { ISessionSummary, listSessions } from './api';
import { button, el, plural, timeElement } from './dom';
import { Pager } from './pager';

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

    const header = el('div', 'am-Sidebar-header');
    header.append(el('h2', 'am-Sidebar-heading', 'Mirror'));
    this._refreshButton = button('am-Sidebar-refresh', 'Refresh', 'Reload the session list');
    this._refreshButton.addEventListener('click', () => void this.refresh());
    header.append(this._refreshButton);

    this._status = el('div', 'am-Sidebar-status');
    this._status.setAttribute('aria-live', 'polite');
    this._list = el('ul', 'am-SessionList');
    this._list.setAttribute('aria-label', 'Saved sessions');

    this._pager = new Pager({
      pageSize: options.pageSize ?? 20,
      load: (page, isCurrent) => this._load(page, isCurrent),
      back: ['am-Pager-prev', 'Prev', 'Newer sessions'],
      forward: ['am-Pager-next', 'Next', 'Older sessions'],
      className: 'am-Sidebar-pager'
    });
    this.node.append(header, this._status, this._list, this._pager.node);
  }

  /** The page shown, counted from 1. */
  get page(): number {
    return this._pager.page;
  }

  get pageSize(): number {
    return this._pager.pageSize;
  }

  /** Reload the current page (staying on it while it still exists). */
  refresh(): Promise<void> {
    return this._pager.refresh();
  }

  showPage(page: number): Promise<void> {
    return this._pager.show(page);
  }

  private async _load(page: number, isCurrent: () => boolean): Promise<number | null> {
    this.node.dataset.state = 'loading';
    try {
      const result = await listSessions(this._pager.pageSize, this._pager.offset(page));
      if (isCurrent()) {
        this._renderSessions(result.sessions, result.total);
        this.node.dataset.state = 'ready';
      }
      return result.total;
    } catch (error) {
      if (isCurrent()) {
        this._list.replaceChildren();
        this._status.textContent = `Could not load sessions: ${(error as Error).message}`;
        this._status.classList.add('am-mod-error');
        this.node.dataset.state = 'error';
      }
      return null;
    }
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _renderSessions(sessions: ISessionSummary[], total: number): void {
    this._status.classList.remove('am-mod-error');
    this._status.textContent =
      total === 0
        ? 'No saved sessions yet. Start one in a notebook with %mirror_session new "Title".'
        : plural(total, 'session');
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

  private _onOpen: (session: ISessionSummary) => void;
  private _pager: Pager;
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
  private _refreshButton: HTMLButtonElement;
}
