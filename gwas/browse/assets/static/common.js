/* hubscan release browser: shared helpers (data loading, number formatting, SVG, tooltip, search).
   Plain JavaScript, no library; every file is fetched from this site only. */
"use strict";
const H = (() => {
  const cache = new Map();
  const json = (path) => {
    if (!cache.has(path)) {
      cache.set(path, fetch(path).then((r) => {
        if (!r.ok) throw new Error(`${path}: ${r.status}`);
        return r.json();
      }));
    }
    return cache.get(path);
  };
  const params = new URLSearchParams(location.search);
  const site = () => json("data/site.json");
  const traits = () => json("data/traits.json");

  /* p = 10^-nlp as text, exact below 1e-308 (mantissa and exponent from the -log10 p). */
  function fmtP(nlp) {
    if (nlp === null || nlp === undefined || !isFinite(nlp)) return "NA";
    if (nlp < 300) return Number(Math.pow(10, -nlp).toPrecision(3)).toString();
    let e = Math.floor(-nlp), m = Math.pow(10, -nlp - e);
    if (m >= 9.995) { m /= 10; e += 1; }
    return `${m.toFixed(2)}e${e}`;
  }
  const fmt = (x, digits = 4) => (x === null || x === undefined || !isFinite(x)) ? "NA" : Number(Number(x).toPrecision(digits)).toString();
  /* a chunk value as the page uses it: null when the release has none (NaN in the file) */
  const finite = (x) => (Number.isFinite(x) ? x : null);
  const fmtInt = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "NA" : Number(x).toLocaleString("en-US");

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c.nodeType ? c : String(c));
    return e;
  }
  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs = {}, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const tip = () => document.getElementById("tip");
  function showTip(evt, html) {
    const t = tip();
    t.innerHTML = html;
    t.style.display = "block";
    const x = Math.min(evt.clientX + 14, window.innerWidth - t.offsetWidth - 8);
    const y = Math.min(evt.clientY + 14, window.innerHeight - t.offsetHeight - 8);
    t.style.left = `${x}px`; t.style.top = `${y}px`;
  }
  const hideTip = () => { tip().style.display = "none"; };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d"];
  const categoryColour = (cats) => {
    const m = new Map();
    [...new Set(cats)].sort().forEach((c, i) => m.set(c, PALETTE[i % PALETTE.length]));
    return m;
  };

  /* -log10 p axis: linear up to 20, then log-compressed (p-values below 1e-300 stay on the page);
     bottom/top in pixels. Returns {y(v), ticks, broken}. */
  function yScale(vmax, bottom, top) {
    const T = 20, hi = Math.max(vmax * 1.06, 8);
    const broken = hi > 2 * T;
    const t = (v) => (!broken || v <= T) ? v : T * (1 + Math.log10(v / T));
    const span = t(hi);
    let ticks;
    if (broken) {
      ticks = [0, 5, 10, 15, 20];
      for (let k = 1; k < 8; k++) for (const m of [1, 2, 5]) { const v = m * Math.pow(10, k); if (v > T && v <= hi) ticks.push(v); }
    } else {
      const step = [1, 2, 5, 10].find((st) => hi / st <= 8) || 10;
      ticks = []; for (let v = 0; v <= hi; v += step) ticks.push(v);
    }
    return { y: (v) => bottom - (t(Math.max(v, 0)) / span) * (bottom - top), ticks, broken };
  }
  function yAxis(root, sc, left) {
    for (const v of sc.ticks) root.append(svg("text", { x: left - 6, y: sc.y(v) + 4, "text-anchor": "end" }, String(v)));
    if (sc.broken) root.append(svg("line", { x1: left - 3, x2: left + 3, y1: sc.y(20) - 2, y2: sc.y(20) + 2, stroke: "#333" }));
  }

  const variantHref = (id) => `variant.html?id=${encodeURIComponent(id)}`;
  const traitHref = (stem) => `trait.html?t=${encodeURIComponent(stem)}`;
  const regionHref = (stem, chrom, start, end) =>
    `region.html?t=${encodeURIComponent(stem)}&chrom=${encodeURIComponent(chrom)}&start=${Math.max(1, start)}&end=${end}`;

  /* chromosome entry of the site layout for a typed name ("chr4", "4", "X"). */
  function findChrom(s, name) {
    const bare = (x) => String(x).replace(/^chr/i, "").toUpperCase();
    return s.chromosomes.find((c) => c.chrom === name) || s.chromosomes.find((c) => bare(c.chrom) === bare(name));
  }
  /* the chunks (variant data files) of a chromosome holding positions lo..hi: the chromosome's
     index lists each chunk's first position, so no request fails */
  async function chunksIn(s, chrom, lo, hi) {
    const c = findChrom(s, chrom);
    if (!c) return [];
    const starts = await json(`data/variants/${c.dir}/index.json`);
    let a = 0, b = starts.length;               // a = number of chunks starting at or before lo
    while (a < b) { const m = (a + b) >> 1; if (starts[m] <= lo) a = m + 1; else b = m; }
    const out = [];
    for (let k = Math.max(a - 1, 0); k < starts.length && starts[k] <= hi; k++) {
      const path = `data/variants/${c.dir}/${starts[k]}.bin.gz`;
      if (!cache.has(path)) cache.set(path, bytes(path).then(decodeChunk));
      out.push(cache.get(path));
    }
    return Promise.all(out);
  }
  /* the chunk that would hold (chrom, pos), null when none could */
  async function chunkOf(s, chrom, pos) {
    const found = await chunksIn(s, chrom, pos, pos);
    return found.length ? found[0] : null;
  }
  /* a file's bytes, gunzipped here (DecompressionStream) unless the server already did
     (some servers send .gz files with Content-Encoding: gzip) */
  async function bytes(path) {
    const r = await fetch(path);
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    const raw = new Uint8Array(await r.arrayBuffer());
    if (raw[0] !== 0x1f || raw[1] !== 0x8b) return raw.buffer;
    return new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
  }
  /* a variant chunk (format: gwas/browse/phewas.py): {chrom, chunk, variants: [{id, rsid, pos, ref,
     alt, t, p, b, s, f, n}]}, t/p/b/s/f/n views of the file's columns (NaN = not released) */
  function decodeChunk(buf) {
    const dv = new DataView(buf);
    if (new TextDecoder().decode(new Uint8Array(buf, 0, 4)) !== "HSV1") throw new Error("not a variant chunk");
    const h = dv.getUint32(4, true);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, h)));
    const R = head.rows, V = head.pos.length;
    let off = 8 + h;
    const col = {};
    for (const k of ["p", "b", "s", "f", "n"]) {
      const m = head.const.includes(k) ? V : R;   // "const": one value per variant
      col[k] = new Float64Array(buf, off, m); off += 8 * m;
    }
    if (!head.every_trait) col.t = new Int32Array(buf, off, R);
    /* a variant's columns are made when first read (a chunk of few traits holds thousands of
       variants; a page reads one, or one trait's value of each) */
    const proto = {};
    const lazy = (k, make) => Object.defineProperty(proto, k, { get() {
      const value = make(this);
      Object.defineProperty(this, k, { value });
      return value;
    } });
    for (const k of ["p", "b", "s", "f", "n"]) {
      lazy(k, head.const.includes(k) ? (v) => new Float64Array(v.z - v.a).fill(col[k][v.i]) : (v) => col[k].subarray(v.a, v.z));
    }
    lazy("t", head.every_trait ? (v) => Int32Array.from({ length: v.z - v.a }, (_, j) => j) : (v) => col.t.subarray(v.a, v.z));
    const variants = head.pos.map((pos, i) => Object.assign(Object.create(proto), {
      id: `${head.chrom}:${pos}:${head.ref[i]}:${head.alt[i]}`, rsid: head.rsid[i], pos, ref: head.ref[i], alt: head.alt[i],
      i, a: head.start[i], z: i + 1 < V ? head.start[i + 1] : R }));
    return { chrom: head.chrom, chunk: head.chunk, variants };
  }
  /* parse "chrom:pos:ref:alt" (also with _ or - separators, optional chr). */
  function parseVariant(text) {
    const m = /^\s*(?:chr)?([A-Za-z0-9._]+?)[:_-](\d+)(?:[:_-]([^:_\s]+)(?:[:_-]([^:_\s]+))?)?\s*$/i.exec(text);
    return m ? { chrom: m[1], pos: +m[2], ref: m[3], alt: m[4] } : null;
  }

  /* ---- search box with completion ---- */
  async function suggestions(text) {
    const q = text.trim();
    if (!q) return [];
    const [s, ts] = await Promise.all([site(), traits()]);
    const out = [];
    const lq = q.toLowerCase();
    for (const t of ts) {
      const hay = `${t.name} ${t.description || ""}`.toLowerCase();
      if (hay.includes(lq)) out.push({ kind: "trait", label: t.name + (t.description ? ` — ${t.description}` : ""), href: traitHref(t.stem) });
    }
    const rs = /^rs(\d+)$/i.exec(q);
    if (rs && rs[1].length >= 2) {
      try {
        const shard = await json(`data/rsid/${rs[1].slice(0, 2)}.json`);
        for (const [r, ids] of Object.entries(shard)) {
          if (r.startsWith(q.toLowerCase())) for (const id of ids) out.push({ kind: "variant", label: `${r} (${id})`, href: variantHref(id) });
          if (out.length > 30) break;
        }
      } catch (e) { /* no rsid starts so */ }
    }
    const range = /^\s*(?:chr)?([A-Za-z0-9._]+):(\d+)-(\d+)\s*$/i.exec(q);
    if (range && findChrom(s, range[1])) {
      const c = findChrom(s, range[1]);
      for (const t of ts.slice(0, 8)) out.push({ kind: "region", label: `${c.chrom}:${range[2]}-${range[3]} in ${t.name}`, href: regionHref(t.stem, c.chrom, +range[2], +range[3]) });
    }
    const v = range ? null : parseVariant(q);
    if (v && findChrom(s, v.chrom)) {
      const c = findChrom(s, v.chrom);
      const chunk = await chunkOf(s, c.chrom, v.pos);
      const typed = [c.chrom, v.pos, v.ref, v.alt].filter((x) => x !== undefined).join(":").toUpperCase();
      let vs = chunk ? chunk.variants.filter((x) => x.id.toUpperCase().startsWith(typed)) : [];
      if (!vs.length && chunk && v.ref === undefined) {   // a position: nearest variants
        vs = [...chunk.variants].sort((a, b) => Math.abs(a.pos - v.pos) - Math.abs(b.pos - v.pos)).slice(0, 5);
      }
      for (const x of vs.slice(0, 10)) out.push({ kind: "variant", label: x.id + (x.rsid ? ` (${x.rsid})` : ""), href: variantHref(x.id) });
      if (v.ref === undefined && ts.length) {
        const t = ts[0];
        out.push({ kind: "region", label: `${c.chrom}:${v.pos} ±250 kb in ${t.name}`, href: regionHref(t.stem, c.chrom, v.pos - 250000, v.pos + 250000) });
      }
    }
    return out.slice(0, 15);
  }

  function initSearch() {
    const input = document.getElementById("search"), list = document.getElementById("suggest");
    if (!input) return;
    let items = [], active = -1, seq = 0;
    const render = () => {
      list.replaceChildren(...items.map((it, i) => el("li", { class: i === active ? "active" : "", role: "option" },
        el("a", { href: it.href }, el("span", { class: "kind", text: it.kind }), it.label))));
      list.classList.toggle("open", items.length > 0);
    };
    input.addEventListener("input", async () => {
      const mine = ++seq;
      const found = await suggestions(input.value);
      if (mine !== seq) return;
      items = found; active = items.length ? 0 : -1; render();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") { active = Math.min(active + 1, items.length - 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
      else if (e.key === "Enter" && items[active]) { location.href = items[active].href; }
      else if (e.key === "Escape") { items = []; render(); }
    });
    document.addEventListener("click", (e) => { if (!list.contains(e.target) && e.target !== input) { list.classList.remove("open"); } });
  }

  function fail(err) {
    document.getElementById("app").replaceChildren(el("p", { class: "error", text: String(err.message || err) }));
    document.body.dataset.ready = "error";
  }
  /* the page is drawn: marks it for tests and benchmarks (milliseconds since navigation start) */
  const ready = () => { document.body.dataset.renderedMs = performance.now().toFixed(1); document.body.dataset.ready = "yes"; };

  function table(columns, rows) {
    const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : "" , text: c.label })));
    const body = rows.map((r) => el("tr", {}, columns.map((c) => {
      const v = c.value(r);
      return el("td", { class: c.num ? "num" : "" }, v);
    })));
    return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
  }

  document.addEventListener("DOMContentLoaded", initSearch);
  return { json, params, site, traits, fmtP, fmt, fmtInt, finite, el, svg, showTip, hideTip, esc, categoryColour,
           yScale, yAxis, variantHref, traitHref, regionHref, findChrom, chunkOf, chunksIn, decodeChunk, parseVariant, fail, ready, table };
})();
