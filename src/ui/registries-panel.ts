// <tabshard-registries>: where model names come from. The site's registry.json, this browser's own
// entries (imports), and registries the person adds by URL or by CID (fetched through the chosen
// gateways and verified block by block). Each entry says which registry it came from; the same
// name@version published with different CIDs by two registries is listed as a conflict (the first
// registry in the list is the one names resolve to). Emits `registries-changed` after a change.
import { LitElement, css, html, nothing } from 'lit';
import { IdbRegistry } from '../store/idb-registry.ts';
import { IdbSources } from '../store/idb-sources.ts';
import { openTabshardDb } from '../store/idb-schema.ts';
import { importRegistry, list, type Registry, type RegistryEntry } from '../store/registry.ts';
import { mergeRegistries, type MergedRegistries } from '../store/registry-merge.ts';
import { fetchRegistry, fetchedDocs, parseRegistrySource, sourceLabel, type FetchedRegistry } from '../store/registry-sources.ts';
import { explain } from './format.ts';
import { panelStyles } from './styles.ts';

/** Every registry this page knows, merged: the site's seed, this browser's, then the added ones. */
export async function registryView(dbName: string | undefined, seedJson: string | undefined): Promise<MergedRegistries & { added: FetchedRegistry[] }> {
  const db = await openTabshardDb(dbName);
  try {
    const own = await new IdbRegistry(db).load();
    const added = await new IdbSources(db).registries();
    const seed: Registry | undefined = seedJson ? importRegistry(seedJson) : undefined;
    const merged = mergeRegistries([
      ...(seed ? [{ registry: 'this site', doc: seed }] : []),
      { registry: 'this browser', doc: own },
      ...fetchedDocs(added),
    ]);
    return { ...merged, added };
  } finally {
    db.close();
  }
}

/** The model picker's entries: `base` (the site's and this browser's, winning any conflict), then the added registries'. */
export async function pickerEntries(dbName: string | undefined, base: Registry): Promise<RegistryEntry[]> {
  const db = await openTabshardDb(dbName);
  try {
    const added = fetchedDocs(await new IdbSources(db).registries());
    return list(mergeRegistries([{ registry: 'this browser', doc: base }, ...added]).effective);
  } finally {
    db.close();
  }
}

export class RegistriesPanel extends LitElement {
  static override properties = {
    dbName: { attribute: false },
    gateways: { attribute: false },
    seedJson: { attribute: false },
    view: { state: true },
    busy: { state: true },
    error: { state: true },
  };
  declare dbName: string | undefined;
  declare gateways: string[];
  declare seedJson: string | undefined;
  declare view: Awaited<ReturnType<typeof registryView>> | undefined;
  declare busy: boolean;
  declare error: string | undefined;

  static override styles = [panelStyles, css`
    table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
    th, td { text-align: left; padding: 0.25rem 0.35rem; border-bottom: 1px solid var(--ts-border); overflow-wrap: anywhere; }
    .conflict { color: var(--ts-error); }
    form { display: flex; gap: 0.4rem; margin: 0.5rem 0; }
    form input { flex: 1; }
  `];

  constructor() {
    super();
    this.gateways = [];
    this.busy = false;
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('seedJson') || changed.has('dbName')) void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.view = await registryView(this.dbName, this.seedJson);
    } catch (err) {
      this.error = explain(err);
    }
  }

  private async edit(change: (list: FetchedRegistry[]) => Promise<FetchedRegistry[]>): Promise<void> {
    this.busy = true;
    this.error = undefined;
    const db = await openTabshardDb(this.dbName);
    try {
      const sources = new IdbSources(db);
      await sources.setRegistries(await change(await sources.registries()));
      await this.refresh();
      this.dispatchEvent(new CustomEvent('registries-changed', { bubbles: true, composed: true }));
    } catch (err) {
      this.error = explain(err);
    } finally {
      db.close();
      this.busy = false;
    }
  }

  private add(e: Event): void {
    e.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('#new-registry')!;
    void this.edit(async (list) => {
      const source = parseRegistrySource(input.value);
      if (list.some((r) => sourceLabel(r.source) === sourceLabel(source))) throw new Error(`${sourceLabel(source)} is already in the list`);
      const doc = await fetchRegistry(source, { gateways: this.gateways });
      input.value = '';
      return [...list, { source, doc, fetchedAt: Date.now() }];
    });
  }

  private refetch(label: string): void {
    void this.edit(async (list) => Promise.all(list.map(async (r) => {
      if (sourceLabel(r.source) !== label) return r;
      try {
        return { ...r, doc: await fetchRegistry(r.source, { gateways: this.gateways }), fetchedAt: Date.now(), error: undefined };
      } catch (err) {
        return { ...r, error: explain(err) }; // keep the last good copy
      }
    })));
  }

  override render() {
    const v = this.view;
    return html`<section class="card" aria-labelledby="registries-h">
      <h2 id="registries-h">Registries</h2>
      <form @submit=${(e: Event) => this.add(e)}>
        <label class="sr-only" for="new-registry">Registry CID or URL</label>
        <input id="new-registry" data-testid="new-registry" placeholder="bafy… or https://…/registry.json" spellcheck="false" autocomplete="off" />
        <button type="submit" data-testid="add-registry" ?disabled=${this.busy}>Add registry</button>
      </form>
      ${v?.added.length ? html`<ul>${v.added.map((r) => html`<li data-testid="registry-source" data-label=${sourceLabel(r.source)}>
          <code>${sourceLabel(r.source)}</code> · ${r.doc ? `${r.doc.entries.length} entries` : 'not fetched'}
          ${r.error ? html`<span class="error">${r.error}</span>` : nothing}
          <button @click=${() => this.refetch(sourceLabel(r.source))}>Refresh</button>
          <button data-testid="remove-registry" @click=${() => this.edit(async (l) => l.filter((x) => sourceLabel(x.source) !== sourceLabel(r.source)))}>Remove</button>
        </li>`)}</ul>` : nothing}
      ${v?.conflicts.length ? html`<div role="status">${v.conflicts.map((c) => html`<p class="conflict" data-testid="registry-conflict" data-key=${c.key}>
          <strong>${c.key}</strong> differs between registries: ${c.entries.map((e, i) => html`${i ? '; ' : ''}<code>${e.cid}</code> from ${e.registry}${i === 0 ? ' (used)' : ''}`)}</p>`)}</div>` : nothing}
      ${v?.entries.length ? html`<table data-testid="registry-entries">
          <thead><tr><th scope="col">Model</th><th scope="col">Registry</th><th scope="col">CID</th></tr></thead>
          <tbody>${v.entries.map((e) => html`<tr data-testid="registry-entry" data-key=${`${e.name}@${e.version}`} data-registry=${e.registry}>
            <td>${e.name}@${e.version}</td><td>${e.registry}</td><td><code>${e.cid}</code></td></tr>`)}</tbody>
        </table>` : html`<p class="muted">No registry entries yet.</p>`}
      ${this.error ? html`<p class="error" role="alert" data-testid="registry-error">${this.error}</p>` : nothing}
    </section>`;
  }
}
customElements.define('tabshard-registries', RegistriesPanel);
