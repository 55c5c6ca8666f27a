/**
 * The "Mirror" left-sidebar panel: a search box over every saved message, and the saved
 * sessions as families (see `tree.ts`), newest update first, a page at a time. "New
 * session" starts one; the panel refreshes itself when the store changes (see
 * `changes.ts`), keeping the page, the expanded families, the scroll and the search. At its
 * foot, the store's last sync (see `syncline.ts`), refreshed with it.
 */
import { Widget } from '@lumino/widgets';

import { describeError, ISearchHit, ISessionSummary } from './api';
import { addIcon, refreshIcon } from '@jupyterlab/ui-components';

import { el, iconButton } from './dom';
import { EMPTY_SEARCH, ISearchState, SearchPanel } from './search';
import { SyncLine } from './syncline';
import { SessionTree } from './tree';

export const SIDEBAR_ID = 'activemirror-sidebar';

export namespace MirrorSidebar {
  export interface IOptions {
    /** Called when the user picks a session. */
    onOpen: (session: ISessionSummary) => void;
    /** Called when the user picks a search hit: open its session at the message. */
    onOpenHit: (hit: ISearchHit) => void;
    /** "New session" was pressed. */
    onNewSession: () => void;
    pageSize?: number;
  }

  /** What the user was looking at, kept across refreshes and reloads. */
  export interface IState {
    page: number;
    expanded: string[];
    search: ISearchState;
  }
}

export class MirrorSidebar extends Widget {
  constructor(options: MirrorSidebar.IOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('am-Sidebar');
    this.title.caption = 'Mirror: saved sessions';

    const header = el('div', 'am-Sidebar-header');
    header.append(el('h2', 'am-Sidebar-heading', 'Mirror'), el('span', 'am-Spacer'));
    const create = iconButton('am-Sidebar-new', addIcon, 'New', 'New session');
    create.addEventListener('click', () => options.onNewSession());
    this._refreshButton = iconButton(
      'am-Sidebar-refresh',
      refreshIcon,
      '',
      'Reload the session list'
    );
    this._refreshButton.addEventListener('click', () => void this.refresh());
    header.append(create, this._refreshButton);

    const pageSize = options.pageSize ?? 20;
    const onStatus = (text: string, error: boolean): void => this._setStatus(text, error);
    this._search = new SearchPanel({
      pageSize,
      onOpenHit: options.onOpenHit,
      onActive: active => this._showSearch(active),
      onStatus
    });
    this._tree = new SessionTree({ pageSize, onOpen: options.onOpen, onStatus });

    this._status = el('div', 'am-Sidebar-status');
    this._status.setAttribute('role', 'status');
    // Either the sessions or the search results (with their pager) are in the page, never
    // both: one list and one pager at a time, for keyboards and screen readers too.
    this._body = el('div', 'am-Sidebar-body');
    this._sync = new SyncLine();
    this.node.append(header, this._search.form, this._status, this._body, this._sync.node);
    this._showSearch(false, false);
  }

  /** The page of sessions shown, counted from 1. */
  get page(): number {
    return this._tree.pager.page;
  }

  get pageSize(): number {
    return this._tree.pager.pageSize;
  }

  set pageSize(size: number) {
    if (size !== this.pageSize) {
      this._tree.pager.pageSize = size;
      this._search.pager.pageSize = size;
      void this._tree.pager.show(1);
      void this._search.refresh();
    }
  }

  get state(): MirrorSidebar.IState {
    return { page: this.page, expanded: [...this._tree.expanded], search: this._search.state };
  }

  /** Put back what the user was looking at (after a reload of the page). */
  async restore(state: Partial<MirrorSidebar.IState>): Promise<void> {
    (state.expanded ?? []).forEach(id => this._tree.expanded.add(id));
    this._search.setState({ ...EMPTY_SEARCH, ...(state.search ?? {}) });
    await this._tree.pager.show(state.page ?? 1);
  }

  /** Reload the sessions (staying on the page while it exists) and the search. */
  async refresh(): Promise<void> {
    this.node.dataset.state = 'loading';
    await Promise.all([
      this._search.active ? this._search.refresh() : this._tree.refresh(),
      this._sync.refresh()
    ]);
    if (this.node.dataset.state === 'loading') {
      this.node.dataset.state = this._status.classList.contains('am-mod-error') ? 'error' : 'ready';
    }
  }

  /** The server stopped answering, or its store failed: say so on the status line (the
   * next successful refresh, when the change watcher sees the server again, replaces it). */
  showConnection(error: unknown | null): void {
    if (error !== null) {
      this._setStatus(describeError(error), true);
    }
  }

  dispose(): void {
    this._sync.dispose();
    super.dispose();
  }

  focusSearch(): void {
    this._search.focus();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _setStatus(text: string, error: boolean): void {
    this._status.textContent = text;
    this._status.classList.toggle('am-mod-error', error);
    this._status.setAttribute('role', error ? 'alert' : 'status');
    this.node.dataset.state = error ? 'error' : 'ready';
  }

  private _showSearch(active: boolean, reload = true): void {
    this.node.classList.toggle('am-mod-searching', active);
    if (active) {
      this._body.replaceChildren(this._search.results, this._search.pager.node);
    } else {
      this._body.replaceChildren(this._tree.node, this._tree.pager.node);
      if (reload) {
        void this._tree.refresh();
      }
    }
  }

  private _search: SearchPanel;
  private _tree: SessionTree;
  private _sync: SyncLine;
  private _body: HTMLDivElement;
  private _status: HTMLDivElement;
  private _refreshButton: HTMLButtonElement;
}
