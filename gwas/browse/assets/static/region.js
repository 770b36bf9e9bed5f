/* Region page: LocusZoom-style -log10 p against position for one trait in a window; the lead
   variant of the window marked; no LD colouring unless the site was built with an LD reference. */
"use strict";
(async () => {
  try {
    const [s, ts] = await Promise.all([H.site(), H.traits()]);
    const stem = H.params.get("t") || ts[0].stem;
    const t = ts.find((x) => x.stem === stem);
    if (!t) throw new Error(`no released trait ${stem}`);
    const c = H.findChrom(s, H.params.get("chrom") || "");
    if (!c) throw new Error(`no chromosome ${H.params.get("chrom")} in this release`);
    let start = Math.max(1, +H.params.get("start") || 1), end = +H.params.get("end") || start + 500000;
    const maxSpan = 60 * s.options.chunk_bp;
    if (end - start > maxSpan) end = start + maxSpan;
    const points = [];
    for (const ch of await H.chunksIn(s, c.chrom, start, end)) {
      for (const v of ch.variants) {
        const k = v.t.indexOf(t.i);
        if (k >= 0 && v.pos >= start && v.pos <= end) points.push({ id: v.id, rsid: v.rsid, pos: v.pos, p: H.finite(v.p[k]), b: H.finite(v.b[k]) });
      }
    }
    const { el } = H;
    document.title = `${t.name} ${c.chrom}:${start}-${end} · hubscan release browser`;
    const select = el("select", { id: "trait-select", "aria-label": "trait" }, ts.map((x) => {
      const o = el("option", { value: x.stem, text: x.name });
      if (x.stem === stem) o.selected = true;
      return o;
    }));
    select.addEventListener("change", () => { location.href = H.regionHref(select.value, c.chrom, start, end); });
    const lead = points.reduce((a, b) => (a && a.p >= b.p ? a : b), null);
    let r2 = null;                      // r² with the lead, by position (LD reference given at build)
    if (s.ld && lead) {
      const k = Math.floor(lead.pos / s.options.chunk_bp);
      const index = await H.json("data/ldchunks.json");
      r2 = (index[c.dir] || []).includes(k) ? ((await H.json(`data/ld/${c.dir}/${k}.json`))[String(lead.pos)] || {}) : {};
    }
    document.getElementById("app").replaceChildren(
      el("h1", { text: `${t.name}: ${c.chrom}:${H.fmtInt(start)}-${H.fmtInt(end)}` }),
      el("p", { class: "sub" }, "trait ", select, ` · ${points.length} variants in the window`),
      el("div", { class: "card" }, plot(points, lead, start, end, r2), r2 ? legend() : null,
        el("p", { class: "note", text: s.ld ? "Colour: r² with the lead variant (LD reference given at build)." :
          "No LD reference was given when the site was built: points are not coloured by LD. ◆ lead variant of the window." })),
      lead ? el("p", {}, "Lead: ", el("a", { href: H.variantHref(lead.id), text: lead.id }), ` p = ${H.fmtP(lead.p)}`) : el("p", { class: "note", text: "No released variant of this trait in the window." }));
    H.ready();
  } catch (e) { H.fail(e); }
})();

/* LocusZoom's r² colours: [upper bound, colour]; grey = no r² in the reference */
const LD_COLOURS = [[0.2, "#357ebd"], [0.4, "#46b8da"], [0.6, "#5cb85c"], [0.8, "#eea236"], [1.0001, "#d43f3a"]];
const ldColour = (r) => (r === undefined ? "#b8b8b8" : LD_COLOURS.find(([hi]) => r < hi)[1]);
function legend() {
  const { el } = H;
  return el("p", { class: "legend" }, ["0–0.2", "0.2–0.4", "0.4–0.6", "0.6–0.8", "0.8–1"].map((label, i) =>
    el("span", {}, el("i", { style: `background:${LD_COLOURS[i][1]}` }), `r² ${label}`)),
    el("span", {}, el("i", { style: "background:#b8b8b8" }), "no r²"));
}

function plot(points, lead, start, end, r2) {
  const { svg } = H;
  const W = 1100, Ht = 340, L = 44, R = 10, T = 10, B = 36;
  const sc = H.yScale(Math.max(8, ...points.map((p) => p.p)), Ht - B, T);
  const x = (pos) => L + ((pos - start) / Math.max(end - start, 1)) * (W - L - R), y = sc.y;
  const root = svg("svg", { viewBox: `0 0 ${W} ${Ht}`, width: "100%", id: "region", role: "img" });
  root.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: Ht - B }));
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: Ht - B, y2: Ht - B }));
  const gw = -Math.log10(5e-8);
  root.append(svg("line", { class: "thresh", x1: L, x2: W - R, y1: y(gw), y2: y(gw) }));
  for (let k = 0; k <= 4; k++) {
    const pos = start + (k * (end - start)) / 4;
    root.append(svg("text", { x: x(pos), y: Ht - 18, "text-anchor": "middle" }, `${(pos / 1e6).toFixed(3)} Mb`));
  }
  H.yAxis(root, sc, L);
  for (const p of points) {
    const isLead = lead && p.id === lead.id;
    const m = isLead ? svg("polygon", { class: "pt", points: `${x(p.pos)},${y(p.p) - 7} ${x(p.pos) + 7},${y(p.p)} ${x(p.pos)},${y(p.p) + 7} ${x(p.pos) - 7},${y(p.p)}`, fill: "#7b2cbf", "data-id": p.id })
                     : svg("circle", { class: "pt", cx: x(p.pos), cy: y(p.p), r: 4, fill: r2 ? ldColour(r2[String(p.pos)]) : "#3b6db3", "fill-opacity": 0.85, "data-id": p.id,
                                       "data-r2": r2 && r2[String(p.pos)] !== undefined ? r2[String(p.pos)] : "" });
    m.addEventListener("mousemove", (e) => H.showTip(e, `<b>${H.esc(p.id)}</b>${p.rsid ? " " + H.esc(p.rsid) : ""}<br>p = ${H.fmtP(p.p)}, beta = ${H.fmt(p.b)}` +
      (r2 && !isLead ? `<br>r² with lead: ${r2[String(p.pos)] === undefined ? "none" : H.fmt(r2[String(p.pos)], 3)}` : "")));
    m.addEventListener("mouseleave", H.hideTip);
    m.addEventListener("click", () => { location.href = H.variantHref(p.id); });
    root.append(m);
  }
  return root;
}
