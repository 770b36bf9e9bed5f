/* Home page: released traits with their counts, top hits across traits. */
"use strict";
(async () => {
  try {
    const [s, ts, hits] = await Promise.all([H.site(), H.traits(), H.json("data/tophits.json")]);
    const { el } = H;
    const app = document.getElementById("app");
    const rel = s.release || {};
    app.replaceChildren(
      el("h1", { text: "Results browser" }),
      el("p", { class: "sub", text: `${s.n_traits} traits released, ${H.fmtInt(s.n_variants)} variants` +
        (s.genome_build ? `, ${s.genome_build}` : "") + (rel.date ? `; release of ${rel.date}` : "") +
        (rel.traits_withheld ? `; ${rel.traits_withheld} traits withheld by disclosure control` : "") }),
      el("h2", { text: `Top hits (p ≤ ${s.options.peak_p.toExponential(0)}, one per ${s.options.peak_window / 1000} kb)` }),
      hits.length ? H.table([
        { label: "trait", value: (h) => el("a", { href: H.traitHref(ts[h.trait].stem), text: ts[h.trait].name }) },
        { label: "category", value: (h) => ts[h.trait].category },
        { label: "variant", value: (h) => el("a", { href: H.variantHref(h.id), text: h.id }) },
        { label: "rsid", value: (h) => h.rsid || "" },
        { label: "p", num: true, value: (h) => H.fmtP(h.p) },
        { label: "beta", num: true, value: (h) => H.fmt(h.b) },
        { label: "effect allele freq.", num: true, value: (h) => H.fmt(h.f) },
      ], hits.slice(0, 100)) : el("p", { class: "note", text: "No variant reaches the threshold." }),
      el("h2", { text: "Traits" }),
      H.table([
        { label: "trait", value: (t) => el("a", { href: H.traitHref(t.stem), text: t.name }) },
        { label: "description", value: (t) => t.description || "" },
        { label: "category", value: (t) => t.category },
        { label: "type", value: (t) => t.type || "" },
        { label: "n", num: true, value: (t) => H.fmtInt(t.n) },
        { label: "cases", num: true, value: (t) => t.type === "binary" ? H.fmtInt(t.n_cases) : "" },
        { label: "controls", num: true, value: (t) => t.type === "binary" ? H.fmtInt(t.n_controls) : "" },
        { label: "variants", num: true, value: (t) => H.fmtInt(t.variants_published) },
        { label: "top p", num: true, value: (t) => t.top ? H.fmtP(t.top.p) : "NA" },
        { label: "peaks", num: true, value: (t) => String(t.n_peaks) },
      ], ts),
      el("p", { class: "note", text: "Counts as released (small counts suppressed, others rounded); NA = suppressed." }));
    H.ready();
  } catch (e) { H.fail(e); }
})();
