/* Variant page: PheWAS across the released traits (grouped by category, Bonferroni line) and the
   per-trait statistics; the effect allele is ALT. */
"use strict";
(async () => {
  try {
    const id = H.params.get("id") || "";
    const v0 = H.parseVariant(id);
    const [s, ts] = await Promise.all([H.site(), H.traits()]);
    const c = v0 && H.findChrom(s, v0.chrom);
    const chunk = c ? await H.chunkOf(s, c.chrom, v0.pos) : null;
    const v = chunk && chunk.variants.find((x) => x.id === id);
    if (!v) throw new Error(`variant ${id} is not in this release`);
    const { el } = H;
    document.title = `${v.id} · hubscan release browser`;
    const num = H.finite;
    const rows = Array.from(v.t, (ti, k) => ({ trait: ts[ti], p: num(v.p[k]), b: num(v.b[k]), s: num(v.s[k]), f: num(v.f[k]), n: num(v.n[k]) }));
    rows.sort((a, b) => b.p - a.p);
    const best = rows[0];
    document.getElementById("app").replaceChildren(
      el("h1", { text: v.id + (v.rsid ? ` (${v.rsid})` : "") }),
      el("p", { class: "sub", text: `chromosome ${c.chrom}, position ${H.fmtInt(v.pos)}; other allele ${v.ref}, effect allele ${v.alt}; released for ${rows.length} of ${s.n_traits} traits` }),
      el("div", { class: "card" }, el("h2", { text: "PheWAS" }), phewas(s, ts, rows),
        el("p", { class: "note", text: `Dashed line: Bonferroni p = 0.05 / ${s.n_traits} traits = ${H.fmt(s.bonferroni_p, 3)}. ▲ effect allele raises the trait (beta > 0), ▼ lowers it.` }),
        best ? el("p", {}, el("a", { href: H.regionHref(best.trait.stem, c.chrom, v.pos - 250000, v.pos + 250000), text: `Region ±250 kb in ${best.trait.name}` })) : null),
      el("h2", { text: "Per-trait statistics" }),
      H.table([
        { label: "trait", value: (r) => el("a", { href: H.traitHref(r.trait.stem), text: r.trait.name }) },
        { label: "category", value: (r) => r.trait.category },
        { label: "p", num: true, value: (r) => H.fmtP(r.p) },
        { label: "beta", num: true, value: (r) => H.fmt(r.b) },
        { label: "se", num: true, value: (r) => H.fmt(r.s) },
        { label: "effect allele freq.", num: true, value: (r) => H.fmt(r.f) },
        { label: "n", num: true, value: (r) => H.fmtInt(r.n) },
      ], rows));
    H.ready();
  } catch (e) { H.fail(e); }
})();

function phewas(s, ts, rows) {
  const { svg } = H;
  const W = 1100, Ht = 340, L = 44, R = 10, T = 10, B = 90;
  const colour = H.categoryColour(ts.map((t) => t.category));
  const byCat = [...rows].sort((a, b) => (a.trait.category.localeCompare(b.trait.category)) || a.trait.name.localeCompare(b.trait.name, undefined, { numeric: true }));
  const bonf = -Math.log10(s.bonferroni_p);
  const sc = H.yScale(Math.max(bonf, ...rows.map((r) => r.p)), Ht - B, T);
  const step = (W - L - R) / Math.max(byCat.length, 1);
  const x = (i) => L + step * (i + 0.5), y = sc.y;
  const root = svg("svg", { viewBox: `0 0 ${W} ${Ht}`, width: "100%", id: "phewas", role: "img" });
  root.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: Ht - B }));
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: Ht - B, y2: Ht - B }));
  root.append(svg("line", { class: "bonf", x1: L, x2: W - R, y1: y(bonf), y2: y(bonf) }));
  root.append(svg("text", { x: 12, y: T + (Ht - T - B) / 2, transform: `rotate(-90 12 ${T + (Ht - T - B) / 2})`, "text-anchor": "middle" }, "-log10 p"));
  let start = 0;
  byCat.forEach((r, i) => {
    const last = i === byCat.length - 1 || byCat[i + 1].trait.category !== r.trait.category;
    if (last) {
      const mid = (x(start) + x(i)) / 2;
      root.append(svg("text", { x: mid, y: Ht - B + 14, transform: `rotate(35 ${mid} ${Ht - B + 14})`, fill: colour.get(r.trait.category) }, r.trait.category));
      start = i + 1;
    }
    const cx = x(i), cy = y(r.p), up = (r.b ?? 0) >= 0, z = 5;
    const pts = up ? `${cx},${cy - z} ${cx - z},${cy + z * 0.7} ${cx + z},${cy + z * 0.7}` : `${cx},${cy + z} ${cx - z},${cy - z * 0.7} ${cx + z},${cy - z * 0.7}`;
    const m = svg("polygon", { class: "pt", points: pts, fill: colour.get(r.trait.category), "data-trait": r.trait.stem });
    m.addEventListener("mousemove", (e) => H.showTip(e, `<b>${H.esc(r.trait.name)}</b>${r.trait.description ? " " + H.esc(r.trait.description) : ""}<br>${H.esc(r.trait.category)}<br>p = ${H.fmtP(r.p)}, beta = ${H.fmt(r.b)}`));
    m.addEventListener("mouseleave", H.hideTip);
    m.addEventListener("click", () => { location.href = H.traitHref(r.trait.stem); });
    root.append(m);
  });
  H.yAxis(root, sc, L);
  return root;
}
