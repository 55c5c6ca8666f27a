/**
 * A main-area panel showing one session's messages, newest page first,
 * chronological inside each page (as `Session.get_messages` pages them).
 */
import { Widget } from '@lumino/widgets';

import { getMessages, getSession, IMessage, ISessionSummary } from './api';
import { button, el, plural, timeElement } from './dom';
import { Pager } from './pager';

export namespace SessionView {
  export interface IOptions {
    sessionId: string;
    /** Insert this session's Markdown export into the active notebook. */
    onInsert: (sessionId: string) => void;
    pageSize?: number;
  }
}

export class SessionView extends Widget {
  constructor(options: SessionView.IOptions) {
    super();
    this.addClass('am-SessionView');
    this.sessionId = options.sessionId;
    this.node.dataset.sessionId = options.sessionId;

    const header = el('div', 'am-SessionView-header');
    this._heading = el('h1', 'am-SessionView-title', options.sessionId);
    this._meta = el('div', 'am-SessionView-meta');
    header.append(this._heading, this._meta);

    this._pager = new Pager({
      pageSize: options.pageSize ?? 20,
      load: (page, isCurrent) => this._load(page, isCurrent),
      back: ['am-Pager-newer', '← Newer', 'Show newer messages'],
      forward: ['am-Pager-older', 'Older →', 'Show older messages'],
      className: 'am-SessionView-toolbar'
    });
    const toolbar = this._pager.node;
    const refresh = button('am-SessionView-refresh', 'Refresh', 'Reload this session');
    refresh.addEventListener('click', () => void this.refresh());
    const insert = button(
      'am-SessionView-insert jp-mod-accept',
      'Insert into notebook',
      "Insert this session's Markdown export as a new cell in the active notebook"
    );
    insert.addEventListener('click', () => options.onInsert(this.sessionId));
    toolbar.append(el('span', 'am-Spacer'), refresh, insert);

    this._status = el('div', 'am-SessionView-status');
    this._status.setAttribute('aria-live', 'polite');
    this._list = el('ol', 'am-MessageList');
    this._list.setAttribute('aria-label', 'Messages');

    this.node.append(header, toolbar, this._status, this._list);
  }

  readonly sessionId: string;

  /** The session's summary once loaded. */
  get session(): ISessionSummary | null {
    return this._session;
  }

  /** The page shown: 1 is the newest messages. */
  get page(): number {
    return this._pager.page;
  }

  refresh(): Promise<void> {
    return this._pager.refresh();
  }

  showPage(page: number): Promise<void> {
    return this._pager.show(page);
  }

  private async _load(page: number, isCurrent: () => boolean): Promise<number | null> {
    this.node.dataset.state = 'loading';
    const size = this._pager.pageSize;
    try {
      const [session, result] = await Promise.all([
        getSession(this.sessionId),
        getMessages(this.sessionId, size, this._pager.offset(page))
      ]);
      if (isCurrent()) {
        this._session = session;
        this._renderSession(session);
        this._renderMessages(result.messages);
        this.node.dataset.state = 'ready';
      }
      return result.total;
    } catch (error) {
      if (isCurrent()) {
        this._list.replaceChildren();
        this._status.textContent = `Could not load this session: ${(error as Error).message}`;
        this._status.classList.add('am-mod-error');
        this.node.dataset.state = 'error';
      }
      return null;
    }
  }

  private _renderSession(session: ISessionSummary): void {
    const title = session.title || '(untitled)';
    this._heading.textContent = title;
    this.title.label = title;
    this.title.caption = `Mirror session ${session.id}`;
    this._meta.replaceChildren(
      el('span', 'am-SessionView-count', plural(session.message_count, 'message')),
      el('span', 'am-SessionItem-sep', ' · updated '),
      timeElement('am-SessionView-updated', session.updated_at),
      el('span', 'am-SessionView-id', ` · ${session.id}`)
    );
  }

  private _renderMessages(messages: IMessage[]): void {
    this._status.classList.remove('am-mod-error');
    this._status.textContent = messages.length === 0 ? 'This session has no messages yet.' : '';
    this._list.replaceChildren(...messages.map(message => this._renderMessage(message)));
  }

  private _renderMessage(message: IMessage): HTMLLIElement {
    const item = el('li', 'am-Message');
    item.dataset.messageId = message.id;
    item.dataset.role = message.role;
    const header = el('div', 'am-Message-header');
    header.append(
      el('span', 'am-Message-role', message.role),
      timeElement('am-Message-time', message.timestamp)
    );
    item.append(header, el('div', 'am-Message-content', message.content));
    return item;
  }

  private _pager: Pager;
  private _session: ISessionSummary | null = null;
  private _heading: HTMLHeadingElement;
  private _meta: HTMLDivElement;
  private _status: HTMLDivElement;
  private _list: HTMLOListElement;
}
