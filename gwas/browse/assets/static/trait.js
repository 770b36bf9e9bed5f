/* Trait page: Manhattan (points + PheWeb-style bins), QQ with λGC, top rows, downloads. */
"use strict";
(async () => {
  try {
    const stem = H.params.get("t");
    const [s, ts] = await Promise.all([H.site(), H.traits()]);
    const t = ts.find((x) => x.stem === stem);
    if (!t) throw new Error(`no released trait ${stem}`);
    const d = await H.json(`data/traits/${encodeURIComponent(stem)}.json`);
    const { el, svg } = H;
    document.title = `${t.name} · hubscan release browser`;
    const lam = t.lambda_gc_release ?? t.lambda_gc;
    const counts = t.type === "binary" ? `${H.fmtInt(t.n_cases)} cases, ${H.fmtInt(t.n_controls)} controls` : `n = ${H.fmtInt(t.n)}`;
    const app = document.getElementById("app");
    app.replaceChildren(
      el("h1", { text: t.name }),
      el("p", { class: "sub", text: [t.description, t.category, t.type, counts, `${H.fmtInt(d.n_rows)} variants`].filter(Boolean).join(" · ") }),
      el("div", { class: "card" }, el("h2", { text: "Manhattan plot" }), manhattan(s, d),
        el("p", { class: "note", text: `${sc_note(d)}The ${d.points.length} most significant variants are points (hover, click); the others are drawn as bins of ${s.options.bin_bp / 1e6} Mb by -log10 p rounded to 0.1. Dashed line: p = 5e-8.` })),
      el("div", { class: "row" },
        el("div", { class: "card" }, el("h2", { text: "QQ plot" }), qq(d, lam),
          el("p", { id: "lambda", text: lam === null || lam === undefined ? "λGC: NA" : `λGC = ${H.fmt(lam, 4)}` })),
        el("div", { class: "card" }, el("h2", { text: "Downloads" }),
          el("ul", {}, d.downloads.map((x) => el("li", {}, el("a", { href: x.href, download: "", text: x.label })))))),
      el("h2", { text: `Top ${d.top.length} variants` }),
      el("div", { class: "tall" }, H.table([
        { label: "variant", value: (r) => el("a", { href: H.variantHref(r.id), text: r.id }) },
        { label: "rsid", value: (r) => r.rsid || "" },
        { label: "p", num: true, value: (r) => H.fmtP(r.p) },
        { label: "beta", num: true, value: (r) => H.fmt(r.b) },
        { label: "se", num: true, value: (r) => H.fmt(r.s) },
        { label: "effect allele freq.", num: true, value: (r) => H.fmt(r.f) },
        { label: "n", num: true, value: (r) => H.fmtInt(r.n) },
        { label: "region", value: (r) => el("a", { href: H.regionHref(stem, r.chrom, r.pos - 250000, r.pos + 250000), text: "±250 kb" }) },
      ], d.top)));
    H.ready();
  } catch (e) { H.fail(e); }
})();

function manhattan(s, d) {
  const { svg } = H;
  const W = 1100, Ht = 320, L = 44, R = 10, T = 10, B = 30;
  const total = s.chromosomes.reduce((a, c) => a + c.length, 0) || 1;
  const byIndex = new Map(s.chromosomes.map((c) => [c.index, c]));
  const top = Math.max(8, ...d.points.map((p) => p.p), ...d.bins.map((b) => b[2][b[2].length - 1][1]));
  const sc = H.yScale(top, Ht - B, T), y = sc.y;
  const x = (c, pos) => L + ((byIndex.get(c).offset + pos) / total) * (W - L - R);
  const root = svg("svg", { viewBox: `0 0 ${W} ${Ht}`, width: "100%", id: "manhattan", role: "img" });
  const colours = ["#3b6db3", "#8fa9d6"];
  s.chromosomes.forEach((c, i) => {
    const mid = x(c.index, c.length / 2);
    const width = (c.length / total) * (W - L - R);
    if (width >= 14) root.append(svg("text", { x: mid, y: Ht - 12, "text-anchor": "middle" }, c.chrom.replace(/^chr/, "")));
  });
  root.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: Ht - B }));
  root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: Ht - B, y2: Ht - B }));
  H.yAxis(root, sc, L);
  root.append(svg("text", { x: 12, y: T + (Ht - T - B) / 2, transform: `rotate(-90 12 ${T + (Ht - T - B) / 2})`, "text-anchor": "middle" }, "-log10 p"));
  const gw = -Math.log10(5e-8);
  root.append(svg("line", { class: "thresh", x1: L, x2: W - R, y1: y(gw), y2: y(gw) }));
  const order = new Map(s.chromosomes.map((c, i) => [c.index, i]));
  const bins = svg("g", { class: "bins" });
  for (const [c, start, runs] of d.bins) {
    const cx = x(c, start + s.options.bin_bp / 2), colour = colours[order.get(c) % 2];
    for (const [lo, hi] of runs) {
      bins.append(svg("line", { x1: cx, x2: cx, y1: y(lo) + 1.5, y2: y(hi) - 1.5, stroke: colour, "stroke-width": 3, "stroke-linecap": "round" }));
    }
  }
  root.append(bins);
  const pts = svg("g", { class: "points" });
  d.points.forEach((p) => {
    const c = svg("circle", { class: "pt", cx: x(p.c, p.pos), cy: y(p.p), r: 3.2, fill: colours[order.get(p.c) % 2], "data-id": p.id });
    c.addEventListener("mousemove", (e) => H.showTip(e, `<b>${H.esc(p.id)}</b>${p.rsid ? " " + H.esc(p.rsid) : ""}<br>p = ${H.fmtP(p.p)}<br>beta = ${H.fmt(p.b)} (se ${H.fmt(p.s)})<br>effect allele freq. ${H.fmt(p.f)}`));
    c.addEventListener("mouseleave", H.hideTip);
    c.addEventListener("click", () => { location.href = H.variantHref(p.id); });
    pts.append(c);
  });
  root.append(pts);
  return root;
}

function qq(d, lam) {
  const { svg } = H;
  const S = 300, P = 36;
  const m = Math.max(1, ...d.qq.map((q) => Math.max(q[0], q[1])));
  const sx = H.yScale(m, 0, S - P - 8), sy = H.yScale(m, S - P, 8);   // the same scale on both axes
  const X = (v) => P + sx.y(v), Y = sy.y;
  const root = svg("svg", { viewBox: `0 0 ${S} ${S}`, width: S, height: S, id: "qq", role: "img" });
  root.append(svg("line", { class: "axis", x1: P, y1: S - P, x2: S - 8, y2: S - P }));
  root.append(svg("line", { class: "axis", x1: P, y1: S - P, x2: P, y2: 8 }));
  root.append(svg("line", { stroke: "#c0392b", x1: X(0), y1: Y(0), x2: X(m), y2: Y(m) }));
  H.yAxis(root, sy, P);
  for (const [e, o] of d.qq) root.append(svg("circle", { cx: X(e), cy: Y(o), r: 2, fill: "#3b6db3" }));
  root.append(svg("text", { x: S / 2, y: S - 6, "text-anchor": "middle" }, "expected -log10 p"));
  root.append(svg("text", { x: 10, y: S / 2, transform: `rotate(-90 10 ${S / 2})`, "text-anchor": "middle" }, "observed -log10 p"));
  return root;
}

const sc_note = (d) => Math.max(0, ...d.points.map((p) => p.p)) > 40 ? "The -log10 p axis is compressed above 20. " : "";
