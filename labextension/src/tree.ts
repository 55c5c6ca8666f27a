/**
 * Sessions as families: a tree (ARIA `tree`) of the sessions at the top of each family, a
 * page at a time, newest update first; a session with children expands to show them
 * (loaded when expanded), and so on down. Arrow keys move, Right/Left expand and
 * collapse, Enter opens.
 *
 * Which families are expanded is kept across refreshes (and, through the sidebar, across
 * reloads of the page).
 */
import { describeError, ISessionSummary, listSessions } from './api';
import { el, plural, tagList, timeElement } from './dom';
import { Pager } from './pager';

/** Children shown under a parent before "Show more". */
const CHILD_PAGE = 50;

export namespace SessionTree {
  export interface IOptions {
    pageSize: number;
    onOpen: (session: ISessionSummary) => void;
    /** A line for the sidebar's status (`error` true for a failure). */
    onStatus: (text: string, error: boolean) => void;
  }
}

export class SessionTree {
  constructor(options: SessionTree.IOptions) {
    this._options = options;
    this.node = el('ul', 'am-SessionList am-SessionTree');
    this.node.setAttribute('role', 'tree');
    this.node.setAttribute('aria-label', 'Saved sessions');
    this.node.addEventListener('keydown', event => this._onKey(event));
    this.pager = new Pager({
      pageSize: options.pageSize,
      load: (page, isCurrent) => this._load(page, isCurrent),
      back: ['am-Pager-prev', 'Prev', 'Newer sessions'],
      forward: ['am-Pager-next', 'Next', 'Older sessions'],
      className: 'am-Sidebar-pager'
    });
  }

  readonly node: HTMLUListElement;
  readonly pager: Pager;
  /** Ids of the sessions whose children are shown. */
  readonly expanded = new Set<string>();

  refresh(): Promise<void> {
    return this.pager.refresh();
  }

  private async _load(page: number, isCurrent: () => boolean): Promise<number | null> {
    try {
      const result = await listSessions(this.pager.pageSize, this.pager.offset(page), {
        roots: true
      });
      const items = await Promise.all(result.sessions.map(s => this._item(s, 1)));
      if (isCurrent()) {
        this._replace(items);
        const all = result.all_total ?? result.total;
        this._options.onStatus(
          all === 0
            ? 'No saved sessions yet. Start one with "New session", or in a notebook with %mirror_session new "Title".'
            : plural(all, 'session'),
          false
        );
      }
      return result.total;
    } catch (error) {
      if (isCurrent()) {
        this._options.onStatus(describeError(error), true);
      }
      return null;
    }
  }

  /** Swap in new items, keeping the focused session focused and the scroll where it was. */
  private _replace(items: HTMLLIElement[]): void {
    const focused = (document.activeElement as HTMLElement | null)?.closest?.('.am-SessionItem');
    const focusedId =
      focused && this.node.contains(focused) ? (focused as HTMLElement).dataset.sessionId : null;
    const scroll = this.node.scrollTop;
    this.node.replaceChildren(...items);
    this.node.scrollTop = scroll;
    const target =
      (focusedId && this._itemOf(focusedId)) ||
      this.node.querySelector<HTMLElement>('.am-SessionItem');
    this._rove(target, focusedId !== null && target !== null);
  }

  private _itemOf(sessionId: string): HTMLElement | null {
    return this._visible().find(item => item.dataset.sessionId === sessionId) ?? null;
  }

  private async _item(session: ISessionSummary, level: number): Promise<HTMLLIElement> {
    const item = el('li', 'am-SessionItem');
    item.dataset.sessionId = session.id;
    item.setAttribute('role', 'treeitem');
    item.setAttribute('aria-level', String(level));
    item.setAttribute('aria-label', session.title || '(untitled)');
    item.tabIndex = -1;
    const children = session.child_count ?? 0;
    const row = el('div', 'am-SessionItem-row');
    const toggle = el('span', 'am-SessionItem-toggle', children > 0 ? '▸' : '');
    toggle.setAttribute('aria-hidden', 'true');
    row.append(toggle, this._body(session, children));
    item.append(row);
    row.addEventListener('click', event => {
      if (event.target === toggle && children > 0) {
        void this._toggle(item, session);
      } else {
        this._options.onOpen(session);
      }
      this._rove(item, true);
    });
    if (children > 0) {
      item.setAttribute('aria-expanded', 'false');
      if (this.expanded.has(session.id)) {
        await this._expand(item, session);
      }
    }
    return item;
  }

  private _body(session: ISessionSummary, children: number): HTMLElement {
    const body = el('div', 'am-SessionItem-body');
    body.title = `Open ${session.title || session.id}`;
    const title = el('div', 'am-SessionItem-title', session.title || '(untitled)');
    body.append(title);
    const meta = el('div', 'am-SessionItem-meta');
    if (session.sealed) {
      const seal = el('span', 'am-Seal am-Seal-small', 'sealed');
      seal.title = 'Sealed: read-only, its journal head recorded';
      meta.append(seal, el('span', 'am-SessionItem-sep', ' · '));
    }
    meta.append(
      el('span', 'am-SessionItem-count', plural(session.message_count, 'message')),
      el('span', 'am-SessionItem-sep', ' · '),
      timeElement('am-SessionItem-updated', session.updated_at)
    );
    if (children > 0) {
      meta.append(el('span', 'am-SessionItem-children', ` · ${plural(children, 'sub-session')}`));
    }
    body.append(meta);
    const tags = tagList(session.tags, 'am-SessionItem-tags');
    if (tags) {
      body.append(tags);
    }
    return body;
  }

  private async _toggle(item: HTMLLIElement, session: ISessionSummary): Promise<void> {
    if (item.getAttribute('aria-expanded') === 'true') {
      this.expanded.delete(session.id);
      item.setAttribute('aria-expanded', 'false');
      item.querySelector(':scope > .am-SessionItem-row .am-SessionItem-toggle')!.textContent = '▸';
      item.querySelector(':scope > .am-SessionGroup')?.remove();
    } else {
      this.expanded.add(session.id);
      await this._expand(item, session);
    }
  }

  private async _expand(
    item: HTMLLIElement,
    session: ISessionSummary,
    limit = CHILD_PAGE
  ): Promise<void> {
    const level = Number(item.getAttribute('aria-level')) + 1;
    const group = el('ul', 'am-SessionGroup');
    group.setAttribute('role', 'group');
    try {
      const page = await listSessions(limit, 0, { parent: session.id });
      group.append(...(await Promise.all(page.sessions.map(child => this._item(child, level)))));
      if (page.total > page.sessions.length) {
        const more = el('li', 'am-SessionGroup-more');
        more.setAttribute('role', 'none');
        const showMore = el(
          'button',
          'am-LinkButton',
          `Show ${page.total - page.sessions.length} more`
        );
        showMore.type = 'button';
        showMore.addEventListener(
          'click',
          () => void this._expand(item, session, limit + CHILD_PAGE)
        );
        more.append(showMore);
        group.append(more);
      }
    } catch (error) {
      const failed = el('li', 'am-SessionGroup-error am-mod-error', describeError(error));
      failed.setAttribute('role', 'none');
      group.append(failed);
    }
    item.querySelector(':scope > .am-SessionGroup')?.remove();
    item.append(group);
    item.setAttribute('aria-expanded', 'true');
    item.querySelector(':scope > .am-SessionItem-row .am-SessionItem-toggle')!.textContent = '▾';
  }

  /** The tree items a keyboard user can reach: those not inside a collapsed parent. */
  private _visible(): HTMLElement[] {
    return Array.from(this.node.querySelectorAll<HTMLElement>('.am-SessionItem'));
  }

  /** One item takes Tab (roving tabindex); `focus` moves the focus to it. */
  private _rove(target: HTMLElement | null, focus: boolean): void {
    for (const item of this._visible()) {
      item.tabIndex = item === target ? 0 : -1;
    }
    if (target && focus) {
      target.focus();
    }
  }

  private _onKey(event: KeyboardEvent): void {
    const item = (event.target as HTMLElement).closest<HTMLLIElement>('.am-SessionItem');
    if (!item || (event.target as HTMLElement).tagName === 'BUTTON') {
      return;
    }
    const items = this._visible();
    const index = items.indexOf(item);
    const sessionId = item.dataset.sessionId!;
    const expandable = item.hasAttribute('aria-expanded');
    const expanded = item.getAttribute('aria-expanded') === 'true';
    let target: HTMLElement | null = null;
    switch (event.key) {
      case 'ArrowDown':
        target = items[index + 1] ?? null;
        break;
      case 'ArrowUp':
        target = items[index - 1] ?? null;
        break;
      case 'Home':
        target = items[0] ?? null;
        break;
      case 'End':
        target = items[items.length - 1] ?? null;
        break;
      case 'ArrowRight':
        if (expandable && !expanded) {
          void this._toggle(item, { id: sessionId } as ISessionSummary);
        } else if (expanded) {
          target = item.querySelector<HTMLElement>(':scope > .am-SessionGroup > .am-SessionItem');
        }
        break;
      case 'ArrowLeft':
        if (expanded) {
          void this._toggle(item, { id: sessionId } as ISessionSummary);
        } else {
          target = item.parentElement?.closest<HTMLElement>('.am-SessionItem') ?? null;
        }
        break;
      case 'Enter':
      case ' ':
        item
          .querySelector<HTMLElement>(':scope > .am-SessionItem-row .am-SessionItem-body')
          ?.click();
        break;
      default:
        return;
    }
    event.preventDefault();
    if (target) {
      this._rove(target, true);
    }
  }

  private _options: SessionTree.IOptions;
}
