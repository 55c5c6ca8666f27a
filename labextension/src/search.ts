/**
 * The sidebar's search: a search box (debounced), a "by meaning" switch, filters for role,
 * tag and dates, and the hits — session title, a snippet with the matched words marked (text
 * nodes and `<mark>`, never markup from the text), role and time, and by meaning the score —
 * in a list (ARIA `listbox`): arrow keys move, Enter opens the session at the message.
 */
import { filterIcon } from '@jupyterlab/ui-components';

import {
  describeError,
  ISearchFilters,
  ISearchHit,
  MirrorApiError,
  Role,
  ROLES,
  search,
  SearchMode
} from './api';
import { button, el, iconButton, localDayStart, markedText, plural, timeElement } from './dom';
import { Pager } from './pager';

/** Quiet time after the last keystroke before searching. */
const DEBOUNCE_MS = 300;
/** The server ranks at most this many by meaning (`limit + offset`). */
const MAX_RANKED = 1000;

/** What the user searched for: kept across refreshes and reloads. */
export interface ISearchState {
  query: string;
  role: string;
  tag: string;
  /** `<input type=date>` values (`2024-05-01`), local days, both inclusive. */
  from: string;
  to: string;
  /** The "by meaning" switch (absent in states saved before it existed). */
  meaning?: boolean;
}

export const EMPTY_SEARCH: ISearchState = {
  query: '',
  role: '',
  tag: '',
  from: '',
  to: '',
  meaning: false
};

/** Whether `query` has a word to look for (letters or digits; the rest is ignored). */
export function hasWords(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}

export namespace SearchPanel {
  export interface IOptions {
    pageSize: number;
    onOpenHit: (hit: ISearchHit) => void;
    /** The search became active (there are words to look for) or inactive. */
    onActive: (active: boolean) => void;
    onStatus: (text: string, error: boolean) => void;
  }
}

export class SearchPanel {
  constructor(options: SearchPanel.IOptions) {
    this._options = options;
    this.form = el('div', 'am-Search');
    this.form.setAttribute('role', 'search');
    this._input = el('input', 'jp-mod-styled am-Search-input');
    this._input.type = 'search';
    this._input.placeholder = 'Search messages…';
    this._input.setAttribute('aria-label', 'Search messages');
    this._input.addEventListener('input', () => this._changed(DEBOUNCE_MS));
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this._changed(0);
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        this._focusHit(0);
      } else if (event.key === 'Escape' && this._input.value) {
        this._input.value = '';
        this._changed(0);
      }
    });
    this._filtersButton = iconButton(
      'am-Search-filtersToggle',
      filterIcon,
      '',
      'Filter by role, tag and date'
    );
    this._filtersButton.setAttribute('aria-expanded', 'false');
    this._filtersButton.addEventListener('click', () => this._showFilters(!this._filtersShown));
    const row = el('div', 'am-Search-row');
    row.append(this._input, this._filtersButton);
    this._filters = this._filterFields();
    this.form.append(row, this._meaningSwitch(), this._filters);

    this.results = el('div', 'am-SearchResults');
    this._list = el('ul', 'am-SessionList am-HitList');
    this._list.setAttribute('role', 'listbox');
    this._list.setAttribute('aria-label', 'Search results');
    this._list.addEventListener('keydown', event => this._onKey(event));
    this.pager = new Pager({
      pageSize: options.pageSize,
      load: (page, isCurrent) => this._load(page, isCurrent),
      back: ['am-Pager-prev', 'Prev', 'Newer matches'],
      forward: ['am-Pager-next', 'Next', 'Older matches'],
      className: 'am-Sidebar-pager'
    });
    this.results.append(this._list);
    this._showFilters(false);
  }

  readonly form: HTMLDivElement;
  readonly results: HTMLDivElement;
  readonly pager: Pager;

  get active(): boolean {
    return hasWords(this._input.value);
  }

  get state(): ISearchState {
    return {
      query: this._input.value,
      role: this._role.value,
      tag: this._tag.value,
      from: this._from.value,
      to: this._to.value,
      meaning: this._meaning.checked
    };
  }

  /** Put back a saved search (and run it). */
  setState(state: ISearchState): void {
    this._input.value = state.query ?? '';
    this._role.value = state.role ?? '';
    this._tag.value = state.tag ?? '';
    this._from.value = state.from ?? '';
    this._to.value = state.to ?? '';
    this._setMeaning(!!state.meaning);
    this._showFilters(!!(state.role || state.tag || state.from || state.to));
    this._changed(0);
  }

  /** Search again for the same words, on the same page. */
  refresh(): Promise<void> {
    return this.active ? this.pager.refresh() : Promise.resolve();
  }

  focus(): void {
    this._input.focus();
  }

  /** The "by meaning" switch: a labelled checkbox (Space, or Enter, flips it). */
  private _meaningSwitch(): HTMLLabelElement {
    this._meaning = el('input', 'am-Search-meaningToggle');
    this._meaning.type = 'checkbox';
    this._meaning.setAttribute('role', 'switch');
    this._meaning.addEventListener('change', () => {
      this._setMeaning(this._meaning.checked);
      this._changed(0);
    });
    this._meaning.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this._meaning.click();
      }
    });
    const label = el('label', 'am-Search-meaning');
    label.title = 'Find messages that say the same thing in other words, closest first';
    label.append(this._meaning, el('span', 'am-Search-meaningLabel', 'by meaning'));
    return label;
  }

  private _setMeaning(on: boolean): void {
    this._meaning.checked = on;
    this._input.placeholder = on ? 'Search by meaning…' : 'Search messages…';
    this.form.classList.toggle('am-mod-meaning', on);
  }

  private _filterFields(): HTMLDivElement {
    const box = el('div', 'am-Search-filters');
    this._role = el('select', 'am-Search-role');
    this._role.append(new Option('Any role', ''), ...ROLES.map(role => new Option(role, role)));
    this._tag = el('input', 'jp-mod-styled am-Search-tag');
    this._tag.placeholder = 'tag';
    this._from = el('input', 'jp-mod-styled am-Search-from');
    this._from.type = 'date';
    this._to = el('input', 'jp-mod-styled am-Search-to');
    this._to.type = 'date';
    const labelled = (text: string, field: HTMLElement): HTMLLabelElement => {
      const label = el('label', 'am-Search-field');
      label.append(el('span', 'am-Search-label', text), field);
      return label;
    };
    const clear = button('am-Search-clear', 'Clear', 'Clear the search and its filters');
    clear.addEventListener('click', () => {
      this.setState(EMPTY_SEARCH);
      this._input.focus();
    });
    box.append(
      labelled('Role', this._role),
      labelled('Tag', this._tag),
      labelled('From', this._from),
      labelled('To', this._to),
      clear
    );
    for (const field of [this._role, this._from, this._to]) {
      field.addEventListener('change', () => this._changed(0));
    }
    this._tag.addEventListener('input', () => this._changed(DEBOUNCE_MS));
    return box;
  }

  private _showFilters(shown: boolean): void {
    this._filtersShown = shown;
    this._filters.hidden = !shown;
    this._filtersButton.setAttribute('aria-expanded', String(shown));
    this._filtersButton.classList.toggle('am-mod-active', shown);
  }

  /** The words or filters changed: search again from page 1 after `delay` ms. */
  private _changed(delay: number): void {
    window.clearTimeout(this._timer);
    const run = (): void => {
      const active = this.active;
      this._options.onActive(active);
      if (active) {
        void this.pager.show(1);
      } else {
        this._list.replaceChildren();
      }
    };
    if (delay > 0) {
      this._timer = window.setTimeout(run, delay);
    } else {
      run();
    }
  }

  private _filtersValue(): ISearchFilters {
    const tag = this._tag.value.trim();
    return {
      role: (this._role.value as Role) || undefined, // ROLES, or '' for any
      tag: tag || undefined,
      since: localDayStart(this._from.value),
      until: localDayStart(this._to.value, 1)
    };
  }

  private async _load(page: number, isCurrent: () => boolean): Promise<number | null> {
    const query = this._input.value;
    if (!hasWords(query)) {
      return null;
    }
    const mode: SearchMode = this._meaning.checked ? 'meaning' : 'words';
    const size = this.pager.pageSize;
    const offset = this.pager.offset(page);
    // By meaning the server ranks, it does not count: one more than a page says whether
    // there is a next one.
    const limit = mode === 'meaning' ? Math.max(0, Math.min(size + 1, MAX_RANKED - offset)) : size;
    this.results.dataset.state = 'loading';
    this.results.dataset.mode = mode;
    try {
      const result = await search(query, this._filtersValue(), limit, offset, mode);
      const current = (): boolean =>
        isCurrent() && query === this._input.value && mode === this._mode();
      const hits = result.hits.slice(0, size);
      if (current()) {
        this._list.replaceChildren(...hits.map((hit, i) => this._hit(hit, i)));
        this._options.onStatus(this._summary(mode, result.total, hits.length), false);
        this.results.dataset.state = 'ready';
      }
      return mode === 'meaning' ? offset + result.hits.length : result.total;
    } catch (error) {
      if (isCurrent()) {
        this._list.replaceChildren();
        this._options.onStatus(searchError(error, mode), true);
        this.results.dataset.state = 'error';
      }
      return null;
    }
  }

  private _mode(): SearchMode {
    return this._meaning.checked ? 'meaning' : 'words';
  }

  private _summary(mode: SearchMode, total: number, shown: number): string {
    if (mode === 'words') {
      return total === 0 ? 'No messages match.' : plural(total, 'matching message');
    }
    return shown === 0 ? 'No messages to compare with.' : 'Closest in meaning first.';
  }

  private _hit(hit: ISearchHit, index: number): HTMLLIElement {
    const item = el('li', 'am-Hit');
    item.setAttribute('role', 'option');
    item.setAttribute('aria-selected', 'false');
    item.tabIndex = index === 0 ? 0 : -1;
    item.dataset.sessionId = hit.session_id;
    item.dataset.messageId = hit.message.id;
    item.append(el('div', 'am-Hit-title', hit.session_title || '(untitled)'));
    const snippet = el('div', 'am-Hit-snippet');
    snippet.append(markedText(hit.snippet, hit.highlights));
    item.append(snippet);
    const meta = el('div', 'am-Hit-meta');
    if (typeof hit.score === 'number') {
      const score = el('span', 'am-Hit-score', hit.score.toFixed(2));
      score.title = `Closeness of meaning ${hit.score.toFixed(4)} (higher is closer)`;
      meta.append(score, el('span', 'am-SessionItem-sep', ' · '));
    }
    meta.append(
      el('span', 'am-Hit-role', hit.message.role),
      el('span', 'am-SessionItem-sep', ' · '),
      timeElement('am-Hit-time', hit.message.timestamp)
    );
    item.append(meta);
    item.addEventListener('click', () => {
      this._select(item);
      this._options.onOpenHit(hit);
    });
    item.addEventListener('focus', () => this._select(item));
    return item;
  }

  private _select(item: HTMLElement): void {
    for (const other of Array.from(this._list.children) as HTMLElement[]) {
      other.setAttribute('aria-selected', String(other === item));
      other.tabIndex = other === item ? 0 : -1;
    }
  }

  private _focusHit(index: number): void {
    const items = Array.from(this._list.children) as HTMLElement[];
    const target = items[Math.max(0, Math.min(index, items.length - 1))];
    target?.focus();
  }

  private _onKey(event: KeyboardEvent): void {
    const items = Array.from(this._list.children) as HTMLElement[];
    const index = items.indexOf(event.target as HTMLElement);
    if (index < 0) {
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
        this._focusHit(index + 1);
        break;
      case 'ArrowUp':
        if (index === 0) {
          this._input.focus();
        } else {
          this._focusHit(index - 1);
        }
        break;
      case 'Home':
        this._focusHit(0);
        break;
      case 'End':
        this._focusHit(items.length - 1);
        break;
      case 'Enter':
      case ' ':
        items[index].click();
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  private _options: SearchPanel.IOptions;
  private _input: HTMLInputElement;
  private _filtersButton: HTMLButtonElement;
  private _filters: HTMLDivElement;
  private _filtersShown = false;
  private _role!: HTMLSelectElement;
  private _tag!: HTMLInputElement;
  private _from!: HTMLInputElement;
  private _to!: HTMLInputElement;
  private _meaning!: HTMLInputElement;
  private _list: HTMLUListElement;
  private _timer = 0;
}

/** The status line for a failed search; a server without search by meaning says how to
 * add it (its own message names the extra) rather than showing nothing. */
export function searchError(error: unknown, mode: SearchMode): string {
  if (mode === 'meaning' && error instanceof MirrorApiError && error.status === 501) {
    return (
      `Search by meaning is not available on this Jupyter server: ${error.message}. ` +
      'Turn "by meaning" off to search by the words.'
    );
  }
  return describeError(error);
}
