// Warden HTML report: builds tables and SVG charts from the embedded report JSON. No network, no libs.
(function () {
  "use strict";
  const doc = JSON.parse(document.getElementById("report-data").textContent);
  const SEV = ["info", "low", "medium", "high", "critical"];
  const NS = "http://www.w3.org/2000/svg";
  const data = doc.data || {};
  const beh = data.behavior || data.eval || {};
  const fx = data.forensics || {};

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function fmt(x) { return (typeof x === "number" && isFinite(x)) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : "–"; }
  function num(x) { return typeof x === "number" && isFinite(x); }
  function empty(id, why) { document.getElementById(id).appendChild(el("p", { class: "empty" }, why)); }

  // verdict reasons
  const reasons = document.getElementById("reasons");
  (doc.verdict_reasons || []).slice(0, 12).forEach(r => reasons.appendChild(el("li", {}, r)));
  if ((doc.verdict_reasons || []).length > 12) reasons.appendChild(el("li", {}, `… ${doc.verdict_reasons.length - 12} more`));

  // summary cards
  const counts = Object.fromEntries(SEV.map(s => [s, 0]));
  (doc.findings || []).forEach(f => { counts[f.severity] = (counts[f.severity] || 0) + 1; });
  const cards = el("div", { class: "cards" });
  SEV.slice().reverse().forEach(s => {
    const c = el("div", { class: "card" });
    c.appendChild(el("div", { class: "n" }, counts[s]));
    c.appendChild(el("span", { class: `sev sev-${s}` }, s));
    cards.appendChild(c);
  });
  const files = doc.manifest ? doc.manifest.files.length : 0;
  const fc = el("div", { class: "card" }); fc.appendChild(el("div", { class: "n" }, files)); fc.appendChild(el("span", {}, "files hashed")); cards.appendChild(fc);
  document.getElementById("summary-body").appendChild(cards);
  if (doc.model && doc.model.root_digest) document.getElementById("summary-body").appendChild(el("p", { class: "mono" }, "root sha256 " + doc.model.root_digest));

  // findings with filters
  const tbody = document.querySelector("#findings-table tbody");
  const stageSel = document.getElementById("f-stage");
  [...new Set((doc.findings || []).map(f => f.stage))].sort().forEach(s => stageSel.appendChild(el("option", { value: s }, s)));
  function locText(l) { let t = l.file || ""; if (l.member) t += "!" + l.member; if (l.tensor) t += "[" + l.tensor + "]"; if (l.line != null) t += ":" + l.line; if (l.offset != null) t += "@" + l.offset; return t; }
  function renderFindings() {
    const min = SEV.indexOf(document.getElementById("f-sev").value);
    const stage = stageSel.value;
    const q = document.getElementById("f-text").value.toLowerCase();
    tbody.textContent = "";
    let shown = 0;
    for (const f of doc.findings || []) {
      if (SEV.indexOf(f.severity) < min) continue;
      if (stage && f.stage !== stage) continue;
      const ev = JSON.stringify(f.evidence || {});
      const hay = (f.rule_id + " " + locText(f.location) + " " + f.title + " " + ev).toLowerCase();
      if (q && !hay.includes(q)) continue;
      const tr = el("tr", { "data-severity": f.severity });
      const td = el("td"); td.appendChild(el("span", { class: `sev sev-${f.severity}` }, f.severity)); tr.appendChild(td);
      tr.appendChild(el("td", { class: "mono" }, f.rule_id));
      tr.appendChild(el("td", {}, f.stage));
      tr.appendChild(el("td", { class: "mono" }, locText(f.location)));
      tr.appendChild(el("td", { title: f.remediation || "" }, f.title));
      tr.appendChild(el("td", { class: "mono" }, ev.length > 300 ? ev.slice(0, 299) + "…" : ev));
      tbody.appendChild(tr); shown++;
    }
    document.getElementById("f-count").textContent = `${shown} of ${(doc.findings || []).length} shown`;
  }
  ["f-sev", "f-stage", "f-text"].forEach(id => document.getElementById(id).addEventListener("input", renderFindings));
  renderFindings();

  // metrics, stages, manifest tables
  const mt = document.querySelector("#metrics-table tbody");
  Object.entries(doc.metrics || {}).forEach(([name, m]) => {
    const tr = el("tr"); tr.appendChild(el("td", { class: "mono" }, name)); tr.appendChild(el("td", {}, fmt(m.value)));
    tr.appendChild(el("td", {}, num(m.ci_low) && num(m.ci_high) ? `[${fmt(m.ci_low)}, ${fmt(m.ci_high)}]` : "–"));
    tr.appendChild(el("td", {}, m.n == null ? "–" : m.n)); mt.appendChild(tr);
  });
  const st = document.querySelector("#stages-table tbody");
  Object.entries(doc.stages || {}).forEach(([name, s]) => {
    const tr = el("tr"); tr.appendChild(el("td", {}, name)); tr.appendChild(el("td", {}, s.status)); tr.appendChild(el("td", {}, s.reason || ""));
    tr.appendChild(el("td", {}, s.seconds == null ? "–" : fmt(s.seconds))); st.appendChild(tr);
  });
  const man = document.querySelector("#manifest-table tbody");
  (doc.manifest ? doc.manifest.files : []).forEach(f => {
    const tr = el("tr"); tr.appendChild(el("td", { class: "mono" }, f.path)); tr.appendChild(el("td", {}, f.size)); tr.appendChild(el("td", { class: "mono" }, f.sha256)); man.appendChild(tr);
  });

  // ---- charts ----
  function frame(w, h) { return svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "data-chart": "1", style: `max-width:${w}px` }); }

  // 1. refusal-style rates with CIs, suspect vs base
  (function () {
    const rows = [];
    const baseMetrics = beh.base_metrics || {};
    for (const [name, m] of Object.entries(doc.metrics || {})) {
      if (!/rate/.test(name) || !num(m.value) || name.startsWith("base.") || /\.(base|diff)$/.test(name)) continue;
      const b = baseMetrics[name] || (doc.metrics || {})[name + ".base"] || (doc.metrics || {})["base." + name] || null;
      rows.push({ name, m, b });
    }
    if (!rows.length) return empty("chart-refusal", "No behavioural rates were measured in this run.");
    const rowH = 34, left = 230, W = 760, H = rows.length * rowH + 40, plotW = W - left - 30;
    const s = frame(W, H);
    const x = v => left + Math.max(0, Math.min(1, v)) * plotW;
    for (let t = 0; t <= 1.0001; t += 0.25) {
      s.appendChild(svg("line", { x1: x(t), x2: x(t), y1: 10, y2: H - 24, stroke: "#e2e2e6" }));
      s.appendChild(svg("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, t.toFixed(2)));
    }
    rows.forEach((r, i) => {
      const y = 20 + i * rowH;
      s.appendChild(svg("text", { x: left - 8, y: y + 10, "text-anchor": "end" }, r.name));
      const bars = [[r.m, "#c62828", "model", 0]];
      if (r.b) bars.push([r.b, "#4a5568", "base", 13]);
      bars.forEach(([m, color, label, dy]) => {
        s.appendChild(svg("rect", { x: left, y: y + dy, width: Math.max(1, x(m.value) - left), height: 10, fill: color, opacity: 0.8 }))
          .appendChild(svg("title", {}, `${label}: ${fmt(m.value)} [${fmt(m.ci_low)}, ${fmt(m.ci_high)}]`));
        if (num(m.ci_low) && num(m.ci_high)) {
          s.appendChild(svg("line", { x1: x(m.ci_low), x2: x(m.ci_high), y1: y + dy + 5, y2: y + dy + 5, stroke: "#111", "stroke-width": 1.5 }));
          [m.ci_low, m.ci_high].forEach(v => s.appendChild(svg("line", { x1: x(v), x2: x(v), y1: y + dy + 1, y2: y + dy + 9, stroke: "#111" })));
        }
      });
    });
    document.getElementById("chart-refusal").appendChild(s);
  })();

  // helpers to read loosely-shaped series
  function toSeries(v) {
    if (Array.isArray(v)) {
      if (v.every(num)) return v.map((y, i) => ({ x: i, y }));
      return v.map((o, i) => {
        if (!o || typeof o !== "object") return null;
        const xk = ["layer", "index", "x"].find(k => num(o[k]));
        const yk = ["energy", "value", "score", "y", "ratio"].find(k => num(o[k]));
        return yk ? { x: xk ? o[xk] : i, y: o[yk], label: o.label || o.tensor || o.name } : null;
      }).filter(Boolean);
    }
    if (v && typeof v === "object") return Object.entries(v).filter(([, y]) => num(y)).map(([k, y], i) => ({ x: num(+k) ? +k : i, y, label: k }));
    return [];
  }

  // 2. per-layer energy profile (one or several named series)
  (function () {
    let prof = fx.energy_profile || fx.layer_energy || (fx.basefree && fx.basefree.energy_profile) || null;
    let series = {};
    if (prof && !Array.isArray(prof) && typeof prof === "object" && Object.values(prof).some(v => Array.isArray(v) || (v && typeof v === "object"))) {
      for (const [k, v] of Object.entries(prof)) { const s = toSeries(v); if (s.length) series[k] = s; }
    } else if (prof) { const s = toSeries(prof); if (s.length) series["energy"] = s; }
    const names = Object.keys(series);
    if (!names.length) return empty("chart-energy", "No forensic energy profile in this run.");
    const all = names.flatMap(n => series[n]);
    const xs = all.map(p => p.x), ys = all.map(p => p.y);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(0, ...ys), y1 = Math.max(...ys) || 1;
    const W = 760, H = 260, L = 50, B = 30, T = 10, R = 120;
    const X = v => L + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (W - L - R);
    const Y = v => T + (1 - (v - y0) / (y1 - y0 || 1)) * (H - T - B);
    const s = frame(W, H);
    s.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(y0), y2: Y(y0), stroke: "#999" }));
    s.appendChild(svg("line", { x1: L, x2: L, y1: T, y2: H - B, stroke: "#999" }));
    s.appendChild(svg("text", { x: L - 6, y: Y(y1) + 4, "text-anchor": "end" }, fmt(y1)));
    s.appendChild(svg("text", { x: L - 6, y: Y(y0) + 4, "text-anchor": "end" }, fmt(y0)));
    s.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "layer / matrix"));
    const colors = ["#c62828", "#2b6cb0", "#1f7a3a", "#a86a00", "#6b46c1"];
    names.forEach((n, i) => {
      const pts = series[n].slice().sort((a, b) => a.x - b.x);
      s.appendChild(svg("polyline", { points: pts.map(p => `${X(p.x)},${Y(p.y)}`).join(" "), fill: "none", stroke: colors[i % colors.length], "stroke-width": 2 }));
      pts.forEach(p => s.appendChild(svg("circle", { cx: X(p.x), cy: Y(p.y), r: 2.5, fill: colors[i % colors.length] })).appendChild(svg("title", {}, `${p.label || n} ${p.x}: ${fmt(p.y)}`)));
      s.appendChild(svg("text", { x: W - R + 8, y: T + 14 + 14 * i, style: `fill:${colors[i % colors.length]}` }, n));
    });
    document.getElementById("chart-energy").appendChild(s);
  })();

  // 3. trigger sweep: shift per candidate, significant ones highlighted
  (function () {
    let sweep = beh.trigger_sweep || [];
    if (sweep && Array.isArray(sweep.rows)) sweep = sweep.rows;
    const rows = (Array.isArray(sweep) ? sweep : Object.entries(sweep).map(([k, v]) => Object.assign({ trigger: k }, v))).map(o => {
      if (o && o.refusal && num(o.refusal.diff)) return { t: String(o.trigger || o.id || "?"), v: o.refusal.diff, key: "refusal rate shift vs no trigger", sig: !!o.flagged };
      const key = Object.keys(o || {}).find(k => /delta|shift/.test(k) && num(o[k]));
      return key ? { t: String(o.trigger || o.name || "?"), v: o[key], key, sig: !!(o.flagged || o.significant) } : null;
    }).filter(Boolean);
    if (!rows.length) return empty("chart-trigger", "No trigger sweep in this run.");
    rows.sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
    const shown = rows.slice(0, 40);
    const W = 760, rowH = 16, L = 260, H = shown.length * rowH + 30, mid = L + (W - L - 20) / 2, half = (W - L - 20) / 2;
    const s = frame(W, H);
    s.appendChild(svg("line", { x1: mid, x2: mid, y1: 4, y2: H - 20, stroke: "#999" }));
    s.appendChild(svg("text", { x: mid, y: H - 6, "text-anchor": "middle" }, `${shown[0].key} (−1 … +1)`));
    shown.forEach((r, i) => {
      const y = 6 + i * rowH, w = Math.max(-1, Math.min(1, r.v)) * half;
      s.appendChild(svg("text", { x: L - 6, y: y + 10, "text-anchor": "end" }, r.t.length > 40 ? r.t.slice(0, 39) + "…" : r.t));
      s.appendChild(svg("rect", { x: w < 0 ? mid + w : mid, y, width: Math.max(1, Math.abs(w)), height: rowH - 4, fill: r.sig ? "#c62828" : "#a0aec0" }))
        .appendChild(svg("title", {}, `${r.t}: ${fmt(r.v)}${r.sig ? " (significant)" : ""}`));
    });
    document.getElementById("chart-trigger").appendChild(s);
  })();

  // 4. tensor diff map: one cell per tensor, colour = relative norm of the change
  (function () {
    const diffs = fx.tensor_diffs || fx.diff_map || (fx.diff && fx.diff.tensors) || [];
    const cells = (Array.isArray(diffs) ? diffs : Object.entries(diffs).map(([k, v]) => (typeof v === "object" ? Object.assign({ tensor: k }, v) : { tensor: k, rel_norm: v }))).map(o => {
      const key = ["rel_norm", "relative_norm", "rel_change", "value"].find(k => num(o[k]));
      return key ? { t: String(o.tensor || o.name), v: o[key], s: o.status || "" } : null;
    }).filter(Boolean);
    if (!cells.length) return empty("chart-diff", "No diff against a base model in this run (use --base).");
    const vmax = Math.max(...cells.map(c => c.v), 1e-12);
    const cols = Math.min(24, Math.ceil(Math.sqrt(cells.length * 2))), size = 28, W = Math.max(320, cols * (size + 2) + 10), rows = Math.ceil(cells.length / cols), H = rows * (size + 2) + 30;
    const s = frame(W, H);
    cells.forEach((c, i) => {
      const t = Math.sqrt(c.v / vmax), x = 5 + (i % cols) * (size + 2), y = 5 + Math.floor(i / cols) * (size + 2);
      const fill = c.v === 0 ? "#edf2f7" : `rgb(${Math.round(255 - 60 * t)},${Math.round(235 - 200 * t)},${Math.round(235 - 200 * t)})`;
      s.appendChild(svg("rect", { x, y, width: size, height: size, fill, stroke: "#fff" })).appendChild(svg("title", {}, `${c.t}: ${fmt(c.v)} ${c.s}`));
    });
    s.appendChild(svg("text", { x: 5, y: H - 8 }, `${cells.length} tensors · darkest = ${fmt(vmax)}`));
    document.getElementById("chart-diff").appendChild(s);
  })();
  document.body.setAttribute("data-rendered", "ok");
})();
