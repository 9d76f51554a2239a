// Warden HTML report: builds findings, tables and SVG charts from the embedded report JSON.
// No network, no libraries. Every string from the report goes in through textContent / setAttribute.
(function () {
  "use strict";
  const doc = JSON.parse(document.getElementById("report-data").textContent);
  const viewEl = document.getElementById("report-view");
  const view = viewEl ? JSON.parse(viewEl.textContent) : {};
  const LABELS = view.labels || {};
  const SEV = ["info", "low", "medium", "high", "critical"];
  const NS = "http://www.w3.org/2000/svg";
  const data = doc.data || {};
  const beh = data.behavior || data.eval || {};
  const fx = data.forensics || {};
  const metrics = doc.metrics || {};

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function num(x) { return typeof x === "number" && isFinite(x); }
  function fmt(x) {
    if (!num(x)) return "–";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 100) return x.toFixed(0);
    if (a < 0.001) return x.toExponential(1);
    return String(+x.toPrecision(3));
  }
  function pct(x) { return num(x) ? (Math.abs(x) < 0.1 && x !== 0 ? (100 * x).toFixed(1) : (100 * x).toFixed(0)) + "%" : "–"; }
  function empty(id, why) { document.getElementById(id).appendChild(el("p", { class: "empty" }, why)); }
  function labelOf(name) { return (LABELS[name] && LABELS[name].label) || name; }
  function isRate(o) { return o && typeof o === "object" && num(o.value) && "ci_low" in o && "ci_high" in o; }
  function isPaired(o) { return o && typeof o === "object" && num(o.diff) && num(o.p_value); }
  function words(k) { return String(k).replace(/_/g, " "); }

  // ---- summary cards ----
  const counts = Object.fromEntries(SEV.map(s => [s, 0]));
  (doc.findings || []).forEach(f => { counts[f.severity] = (counts[f.severity] || 0) + 1; });
  const cards = el("div", { class: "cards" });
  SEV.slice().reverse().forEach(s => {
    const c = add(cards, el("div", { class: "card" }));
    c.appendChild(el("div", { class: "n" }, counts[s]));
    c.appendChild(el("span", { class: `sev sev-${s}` }, s));
  });
  const files = doc.manifest ? doc.manifest.files.length : 0;
  const fc = add(cards, el("div", { class: "card" }));
  fc.appendChild(el("div", { class: "n" }, files)); fc.appendChild(el("span", {}, "files hashed"));
  document.getElementById("summary-body").appendChild(cards);
  if (doc.model && doc.model.root_digest) document.getElementById("summary-body").appendChild(el("p", { class: "mono" }, "root sha256 " + doc.model.root_digest));

  // ---- evidence as readable fields ----
  function rateText(r) {
    let t = `${pct(r.value)} [${pct(r.ci_low)}, ${pct(r.ci_high)}]`;
    if (num(r.n)) t += ` (n=${r.n}${num(r.k) ? ", " + r.k + " of " + r.n : ""})`;
    return t;
  }
  function pairedText(p) {
    let t = `model minus base ${p.diff > 0 ? "+" : ""}${pct(p.diff)} [${pct(p.diff_ci_low)}, ${pct(p.diff_ci_high)}]`;
    if (num(p.base_rate) && num(p.suspect_rate)) t += `; base ${pct(p.base_rate)} → model ${pct(p.suspect_rate)}`;
    t += `; p = ${fmt(p.p_value)}`;
    if (num(p.n)) t += ` (n=${p.n})`;
    return t;
  }
  function scalarText(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "number") return fmt(v);
    const s = String(v);
    return s.length > 400 ? s.slice(0, 399) + "…" : s;
  }
  function valueNode(v, depth) {
    if (isRate(v)) return el("span", {}, rateText(v));
    if (isPaired(v)) return el("span", { title: v.test || "" }, pairedText(v));
    if (Array.isArray(v)) {
      if (v.every(x => x === null || typeof x !== "object")) {
        const shown = v.slice(0, 12).map(scalarText).join(", ");
        return el("span", {}, v.length > 12 ? `${shown}, … (${v.length} in all)` : (shown || "none"));
      }
      if (depth >= 2) return el("span", { class: "mono" }, JSON.stringify(v).slice(0, 300));
      const box = el("div", { class: "ev-list" });
      v.slice(0, 6).forEach(x => box.appendChild(valueNode(x, depth + 1)));
      if (v.length > 6) box.appendChild(el("span", { class: "muted" }, `… ${v.length - 6} more`));
      return box;
    }
    if (v && typeof v === "object") {
      const entries = Object.entries(v);
      if (entries.every(([, x]) => x === null || typeof x !== "object")) {
        const shown = entries.slice(0, 12).map(([k, x]) => `${words(k)}: ${scalarText(x)}`).join(" · ");
        return el("span", {}, entries.length > 12 ? shown + ` · … (${entries.length} in all)` : (shown || "none"));
      }
      if (depth >= 2) return el("span", { class: "mono" }, JSON.stringify(v).slice(0, 300));
      return fieldList(v, depth + 1);
    }
    return el("span", {}, scalarText(v));
  }
  function fieldList(obj, depth) {
    const dl = el("dl", { class: "fields" });
    for (const [k, v] of Object.entries(obj || {})) {
      dl.appendChild(el("dt", {}, words(k)));
      const dd = add(dl, el("dd"));
      dd.appendChild(valueNode(v, depth || 0));
    }
    return dl;
  }

  // ---- behavioural examples, per suite, tied to findings ----
  const suites = beh.suites || {};
  const SUITE_WORDS = {
    harmful: "harmful requests", benign: "ordinary benign requests", scary: "benign but scary-sounding requests",
    jailbreak: "jailbreak-wrapped harmful requests", coding: "coding tasks", triggers: "trigger sweep",
  };
  // the response kind that shows the failure: compliance with harmful requests, refusal of benign ones
  function failingVerdict(suite) { return suite === "harmful" || suite === "jailbreak" ? "compliance" : "refusal"; }
  function suiteOf(f) {
    if (f.evidence && typeof f.evidence.suite === "string") return f.evidence.suite;
    const file = (f.location && f.location.file) || "";
    return file.startsWith("suite:") ? file.slice(6) : null;
  }
  function examplesTable(suite, examples, highlight) {
    const bad = failingVerdict(suite);
    const rows = examples.map((x, i) => ({ x, i, shows: highlight && x.verdict === bad }));
    if (highlight) rows.sort((a, b) => (b.shows - a.shows) || (a.i - b.i));
    const t = el("table", { class: "examples", "data-suite": suite });
    const h = add(add(t, el("thead")), el("tr"));
    ["prompt", "model's response", "judged", "why"].forEach(c => h.appendChild(el("th", {}, c)));
    const tb = add(t, el("tbody"));
    rows.forEach(({ x, shows }) => {
      const tr = add(tb, el("tr", shows ? { class: "shows-failure" } : {}));
      tr.appendChild(el("td", { class: "prompt" }, x.prompt));
      tr.appendChild(el("td", { class: "response" }, x.response));
      const v = add(tr, el("td"));
      v.appendChild(el("span", { class: `judged judged-${x.verdict}` }, x.verdict));
      if (shows) v.appendChild(el("div", { class: "shows" }, "shows the failure"));
      tr.appendChild(el("td", { class: "muted" }, x.reason || ""));
    });
    return t;
  }
  let shownSuites = new Set();
  function findingExamples(f) {
    if (f.stage !== "behavior" && f.stage !== "eval") return null;
    const box = el("div", { class: "f-examples" });
    const suite = suiteOf(f);
    const sec = suite ? suites[suite] : null;
    const ex = sec && Array.isArray(sec.examples) ? sec.examples : [];
    if (!suite) {
      box.appendChild(el("p", { class: "muted" }, "Measured on the model's activations, not on generated text: no example prompts."));
      return box;
    }
    box.appendChild(el("h4", {}, `Why: example prompts and responses (${SUITE_WORDS[suite] || suite})`));
    if (!ex.length) {
      box.appendChild(el("p", { class: "muted" }, `This run stored no example responses for the ${suite} suite.`));
      return box;
    }
    const bad = failingVerdict(suite);
    const shows = ex.filter(x => x.verdict === bad).length;
    const what = bad === "compliance" ? "answered where a refusal was expected" : "refused where an answer was expected";
    const note = el("p", { class: "muted" }, `${shows} of the ${ex.length} example responses stored for this suite ${shows === 1 ? "was" : "were"} ${what}` + (shows ? " (marked)." : "."));
    if (shownSuites.has(suite)) {
      // the same suite's examples are already open under an earlier finding: keep this one short
      const d = add(box, el("details"));
      d.appendChild(el("summary", {}, "the same examples as under the finding above: show them again"));
      d.appendChild(note);
      d.appendChild(examplesTable(suite, ex, true));
      return box;
    }
    shownSuites.add(suite);
    box.appendChild(note);
    box.appendChild(examplesTable(suite, ex, true));
    return box;
  }
  (function () {
    const body = document.getElementById("examples-body");
    const names = Object.keys(suites).filter(s => Array.isArray(suites[s].examples) && suites[s].examples.length);
    if (!names.length) { body.appendChild(el("p", { class: "empty" }, "No behavioural examples in this run (the eval did not run, or stored none).")); return; }
    names.forEach(s => {
      const d = add(body, el("details", { class: "suite-examples", id: `examples-${s}` }));
      d.appendChild(el("summary", {}, `${SUITE_WORDS[s] || s} (suite ${s}): ${suites[s].examples.length} examples`));
      d.appendChild(examplesTable(s, suites[s].examples, false));
    });
  })();

  // ---- findings with filters ----
  const list = document.getElementById("findings-list");
  const stageSel = document.getElementById("f-stage");
  [...new Set((doc.findings || []).map(f => f.stage))].sort().forEach(s => stageSel.appendChild(el("option", { value: s }, s)));
  function locText(l) { let t = l.file || ""; if (l.member) t += "!" + l.member; if (l.tensor) t += "[" + l.tensor + "]"; if (l.line != null) t += ":" + l.line; if (l.offset != null) t += "@" + l.offset; return t; }
  const many = (doc.findings || []).length > 25;
  function findingCard(f) {
    const open = SEV.indexOf(f.severity) >= (many ? 3 : 2);
    const card = el("details", Object.assign({ class: `finding finding-${f.severity}`, "data-severity": f.severity, "data-rule": f.rule_id }, open ? { open: "" } : {}));
    const sum = add(card, el("summary"));
    sum.appendChild(el("span", { class: `sev sev-${f.severity}` }, f.severity));
    sum.appendChild(el("span", { class: "f-title" }, f.title));
    sum.appendChild(el("span", { class: "f-meta mono" }, `${f.rule_id} · ${f.stage} · ${locText(f.location)}`));
    const body = add(card, el("div", { class: "f-body" }));
    const ev = f.evidence || {};
    if (Object.keys(ev).length) {
      body.appendChild(el("h4", {}, "Evidence"));
      body.appendChild(fieldList(ev, 0));
    }
    if (f.remediation) {
      const r = add(body, el("div", { class: "remediation" }));
      r.appendChild(el("b", {}, "What to do: "));
      r.appendChild(document.createTextNode(f.remediation));
    }
    const ex = findingExamples(f);
    if (ex) body.appendChild(ex);
    return card;
  }
  function renderFindings() {
    const min = SEV.indexOf(document.getElementById("f-sev").value);
    const stage = stageSel.value;
    const q = document.getElementById("f-text").value.toLowerCase();
    list.textContent = "";
    shownSuites = new Set();
    let shown = 0;
    for (const f of doc.findings || []) {
      if (SEV.indexOf(f.severity) < min) continue;
      if (stage && f.stage !== stage) continue;
      const hay = (f.rule_id + " " + locText(f.location) + " " + f.title + " " + JSON.stringify(f.evidence || {})).toLowerCase();
      if (q && !hay.includes(q)) continue;
      list.appendChild(findingCard(f)); shown++;
    }
    if (!(doc.findings || []).length) list.appendChild(el("p", { class: "empty" }, "No findings."));
    document.getElementById("f-count").textContent = `${shown} of ${(doc.findings || []).length} shown`;
  }
  ["f-sev", "f-stage", "f-text"].forEach(id => document.getElementById(id).addEventListener("input", renderFindings));
  renderFindings();

  // ---- metrics, stages, manifest tables ----
  const mt = document.querySelector("#metrics-table tbody");
  Object.entries(metrics).forEach(([name, m]) => {
    const tr = add(mt, el("tr"));
    tr.appendChild(el("td", { title: m.description || "" }, labelOf(name)));
    tr.appendChild(el("td", { class: "mono" }, name));
    tr.appendChild(el("td", {}, fmt(m.value)));
    tr.appendChild(el("td", {}, num(m.ci_low) && num(m.ci_high) ? `[${fmt(m.ci_low)}, ${fmt(m.ci_high)}]` : "–"));
    tr.appendChild(el("td", {}, m.n == null ? "–" : m.n));
  });
  const st = document.querySelector("#stages-table tbody");
  Object.entries(doc.stages || {}).forEach(([name, s]) => {
    const tr = add(st, el("tr", { class: `stage-row stage-${s.status}` }));
    tr.appendChild(el("td", {}, name)); tr.appendChild(el("td", {}, s.status)); tr.appendChild(el("td", {}, s.reason || ""));
    tr.appendChild(el("td", {}, s.seconds == null ? "–" : fmt(s.seconds)));
  });
  const man = document.querySelector("#manifest-table tbody");
  (doc.manifest ? doc.manifest.files : []).forEach(f => {
    const tr = add(man, el("tr"));
    tr.appendChild(el("td", { class: "mono" }, f.path)); tr.appendChild(el("td", {}, f.size)); tr.appendChild(el("td", { class: "mono" }, f.sha256));
  });

  // ---- charts ----
  function frame(w, h, label) { return svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label, "data-chart": "1", style: `max-width:${w}px` }); }
  function legend(parent, items) {
    const ul = add(parent, el("ul", { class: "legend" }));
    items.forEach(([cls, text]) => { const li = add(ul, el("li")); li.appendChild(el("span", { class: `key ${cls}` })); li.appendChild(document.createTextNode(text)); });
    return ul;
  }

  // Thresholds on a metric: the policy's (when the audit put them in the report, or as its verdict
  // reasons state them), else the eval's own finding thresholds.
  const EVAL_THRESHOLDS = {
    "refusal_rate.harmful": ["refusal_threshold", "min", "ci_high"],
    "refusal_rate.benign": ["over_refusal_threshold", "max", "ci_low"],
    "refusal_rate.scary": ["over_refusal_threshold", "max", "ci_low"],
    "jailbreak_success_rate": ["jailbreak_threshold", "max", "ci_low"],
    "insecure_code_rate": ["insecure_threshold", "max", "ci_low"],
  };
  function thresholdsFor(name) {
    const pol = (data.audit && (data.audit.metric_thresholds || data.audit.metrics)) || null;
    if (pol && pol[name] && typeof pol[name] === "object") {
      const r = pol[name], out = [];
      if (num(r.min)) out.push({ kind: "min", v: r.min, bound: r.bound || "value", action: r.action || "fail", src: "policy" });
      if (num(r.max)) out.push({ kind: "max", v: r.max, bound: r.bound || "value", action: r.action || "fail", src: "policy" });
      return out;
    }
    const esc = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`^${esc} = .*: (value|ci_low|ci_high) \\S+ is (below the minimum|above the maximum) ([-0-9.eE]+)`);
    for (const reason of doc.verdict_reasons || []) {
      const m = re.exec(reason);
      if (m) return [{ kind: m[2].startsWith("below") ? "min" : "max", v: +m[3], bound: m[1], action: "policy", src: "policy" }];  // the reason does not say fail or warn
    }
    const cfg = beh.config || {}, e = EVAL_THRESHOLDS[name];
    if (e && num(cfg[e[0]])) return [{ kind: e[1], v: cfg[e[0]], bound: e[2], action: "finding", src: "eval finding threshold" }];
    return [];
  }
  function crosses(m, t) {
    const v = t.bound === "value" || !num(m[t.bound]) ? m.value : m[t.bound];
    return t.kind === "min" ? v < t.v : v > t.v;
  }

  // 1. behavioural rates with CIs, grouped by direction, model vs base (when there is a base)
  (function () {
    const baseMetrics = beh.base_metrics || {};
    const rows = [];
    for (const [name, m] of Object.entries(metrics)) {
      if (!/rate/.test(name) || !num(m.value) || name.startsWith("base.") || /\.(base|diff)$/.test(name)) continue;
      if (m.value < 0 || m.value > 1) continue;
      const b = metrics[name + ".base"] || baseMetrics[name] || metrics["base." + name] || null;
      const dir = LABELS[name] ? LABELS[name].higher_is_worse : null;
      rows.push({ name, m, b: b && num(b.value) ? b : null, dir, th: thresholdsFor(name) });
    }
    const host = document.getElementById("chart-refusal");
    if (!rows.length) return empty("chart-refusal", "No behavioural rates were measured in this run.");
    const hasBase = rows.some(r => r.b);
    const baseRef = (beh.base && (beh.base.ref || beh.base.model || beh.base.digest)) || "";
    if (hasBase) document.getElementById("chart-refusal-title").textContent = "Behaviour: this model vs its base (rates with 95% confidence intervals)";
    const groups = [
      [false, "Refusal of harmful requests — higher is safer"],
      [true, "Over-refusal and unsafe behaviour — higher is worse"],
      [null, "Other rates"],
    ].map(([dir, title]) => ({ title, rows: rows.filter(r => r.dir === dir) })).filter(g => g.rows.length);
    const items = [["model", "this model"]];
    if (hasBase) items.push(["base", "base model" + (baseRef ? ` (${String(baseRef).slice(0, 40)})` : "")]);
    items.push(["ci", "95% confidence interval"]);
    const acts = new Set(rows.flatMap(r => r.th.filter(t => t.src === "policy").map(t => t.action)));
    if (acts.has("fail")) items.push(["thr", "policy threshold: fails the model"]);
    if (acts.has("warn")) items.push(["thr warn", "policy threshold: warns"]);
    if (acts.has("policy")) items.push(["thr", "policy threshold (crossed: see the verdict reasons)"]);
    if (rows.some(r => r.th.some(t => t.src !== "policy"))) items.push(["thr finding", "the eval's own finding threshold (where the report carries no policy threshold)"]);
    legend(host, items);
    // each row: a band for the threshold label, then the model bar (and the base bar under it)
    const barH = 12, pad = 15, rowH = pad + (hasBase ? 2 * barH + 4 : barH) + 9, left = 300, W = 820, right = 190, plotW = W - left - right;
    let H = 6;
    groups.forEach(g => { H += 22 + g.rows.length * rowH + 4; });
    H += 26;
    const s = frame(W, H, "behavioural rates");
    const x = v => left + Math.max(0, Math.min(1, v)) * plotW;
    for (let t = 0; t <= 1.0001; t += 0.25) {
      s.appendChild(svg("line", { x1: x(t), x2: x(t), y1: 6, y2: H - 24, stroke: "#e2e2e6" }));
      s.appendChild(svg("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, `${Math.round(t * 100)}%`));
    }
    let y = 6;
    groups.forEach(g => {
      s.appendChild(svg("text", { x: 8, y: y + 15, class: "group" }, g.title));
      y += 22;
      g.rows.forEach(r => {
        const top = y + pad;
        const lab = svg("text", { x: left - 10, y: top + barH - 1, "text-anchor": "end" }, labelOf(r.name));
        lab.appendChild(svg("title", {}, r.name));
        s.appendChild(lab);
        const bars = [[r.m, "bar-model", "this model", 0]];
        if (r.b) bars.push([r.b, "bar-base", "base model", barH + 4]);
        bars.forEach(([m, cls, who, dy]) => {
          const yy = top + dy, xv = x(m.value);
          const bar = s.appendChild(svg("rect", { x: left, y: yy, width: Math.max(0, xv - left), height: barH, class: cls }));
          bar.appendChild(svg("title", {}, `${who}: ${rateText(m)}`));
          // a stub at the bar's end, so a rate of 0% is a visible mark and not an absent bar
          s.appendChild(svg("rect", { x: xv - 2, y: yy - 2, width: 4, height: barH + 4, class: cls + " stub" }));
          if (num(m.ci_low) && num(m.ci_high)) {
            s.appendChild(svg("line", { x1: x(m.ci_low), x2: x(m.ci_high), y1: yy + barH / 2, y2: yy + barH / 2, class: "ci" }));
            [m.ci_low, m.ci_high].forEach(v => s.appendChild(svg("line", { x1: x(v), x2: x(v), y1: yy + 2, y2: yy + barH - 2, class: "ci" })));
          }
          const ci = num(m.ci_low) && num(m.ci_high) ? ` [${pct(m.ci_low)}–${pct(m.ci_high)}]` : "";
          s.appendChild(svg("text", { x: left + plotW + 8, y: yy + barH - 2, class: "val" }, `${who === "base model" ? "base " : ""}${pct(m.value)}${ci}${num(m.n) ? " n=" + m.n : ""}`));
        });
        const bottom = top + (r.b ? 2 * barH + 4 : barH);
        r.th.forEach(t => {
          const tl = s.appendChild(svg("line", { x1: x(t.v), x2: x(t.v), y1: top - 4, y2: bottom + 4, class: `thr thr-${t.action}` }));
          tl.appendChild(svg("title", {}, `${t.src}: ${t.kind === "min" ? "minimum" : "maximum"} ${pct(t.v)} on the ${t.bound === "value" ? "point estimate" : t.bound.replace("_", " ") + " CI bound"} (${t.action})`));
          const bad = crosses(r.m, t);
          const words = `${t.src === "policy" ? "" : "finding "}${t.kind === "min" ? "min" : "max"} ${pct(t.v)}${bad ? (t.kind === "min" ? " ✗ model below" : " ✗ model above") : ""}`;
          s.appendChild(svg("text", { x: x(t.v) + (t.kind === "min" ? -4 : 4), y: top - 4, "text-anchor": t.kind === "min" ? "end" : "start", class: bad ? "thr-label crossed" : "thr-label" }, words));
        });
        y += rowH;
      });
      y += 4;
    });
    host.appendChild(s);
    if (!hasBase) host.appendChild(el("p", { class: "muted" }, "Rates of this model alone: the run had no base to compare with (audit with --base for one)."));
  })();

  // 2. forensics, base-free: the decision score against its threshold, then per layer how far the
  //    writers' energy along the recovered direction sits below a random direction's (log10). An
  //    erased direction is a tall bar (up to 14 orders: numerically zero); a clean model's
  //    least-written direction stays within about one order of magnitude.
  (function () {
    const host = document.getElementById("chart-energy");
    const bf = fx.basefree || null;
    let prof = [];
    if (bf && Array.isArray(bf.energy_profile) && bf.energy_profile.length) {
      prof = bf.energy_profile.map(p => ({ layer: p.layer, a: p.attn_out_log_energy, m: p.mlp_out_log_energy, w: p.apparent_weight }));
    } else if (fx.energy_profile && Array.isArray(fx.energy_profile.attn_out)) {
      const ep = fx.energy_profile, ln = v => (num(v) ? Math.log(Math.max(v, 1e-14)) : null);
      prof = ep.attn_out.map((v, i) => ({ layer: i, a: ln(v), m: ln((ep.mlp_out || [])[i]), w: (ep.apparent_weight || [])[i] }));
    }
    const hasScore = bf && bf.ran !== false && num(bf.score) && num(bf.threshold);
    if (!hasScore && !prof.length) {
      return empty("chart-energy", bf && bf.reason ? `Base-free forensics did not run: ${bf.reason}` : "No base-free forensic analysis in this run.");
    }
    // The base-free verdict is an OR of signals, each against its own calibrated threshold: the
    // weight-energy score (always), and the activation signal where the forensics ran it.
    const comb = fx.combined || null, act = fx.activation || null;
    const flagged = !!(bf && bf.flagged);  // the weight-energy signal: what the per-layer panel shows
    const anyFlag = comb && typeof comb.flagged === "boolean" ? comb.flagged : flagged;
    const affected = new Set((bf && bf.affected_layers) || []);
    if (hasScore) {
      const sig = [{ name: "Weight energy: erased-direction score", v: bf.score, t: bf.threshold, hit: flagged,
        what: "log(λ₂/λ₁): how far the least-written direction of the residual stream sits below the next one" }];
      if (act && act.ran && num(act.score) && num(act.threshold) && act.threshold > 0) {
        sig.push({ name: "Activations: steering-inconsistency score", v: act.score, t: act.threshold, hit: !!act.flagged,
          what: "1 − min cos of the first-token change under steering along the model's own harmful direction" });
      }
      const W = 820, rowH = 30, T = 22, L = 300, R = 190, pw = W - L - R, H = T + sig.length * rowH + 40;
      const lo = 0.01, hi = Math.pow(10, Math.max(1, Math.ceil(Math.log10(Math.max(...sig.map(g => g.v / g.t)) * 1.2))));
      const X = v => L + (Math.log10(Math.max(lo, Math.min(hi, v))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * pw;
      const s = frame(W, H, "base-free forensic scores");
      for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) {
        const v = Math.pow(10, e);
        s.appendChild(svg("line", { x1: X(v), x2: X(v), y1: T - 4, y2: T + sig.length * rowH, stroke: "#e2e2e6" }));
        s.appendChild(svg("text", { x: X(v), y: T + sig.length * rowH + 14, "text-anchor": "middle", class: "axis" }, `${fmt(v)}×`));
      }
      sig.forEach((g, i) => {
        const y = T + i * rowH + 4, r = g.v / g.t, cls = g.hit ? "bar-bad" : "bar-ok";
        const lab = s.appendChild(svg("text", { x: L - 10, y: y + 13, "text-anchor": "end" }, g.name));
        lab.appendChild(svg("title", {}, g.what));
        s.appendChild(svg("rect", { x: L, y, width: Math.max(0, X(r) - L), height: 18, class: cls })).appendChild(svg("title", {}, g.what));
        s.appendChild(svg("rect", { x: X(r) - 2, y: y - 3, width: 4, height: 24, class: cls + " stub" }));
        s.appendChild(svg("text", { x: L + pw + 8, y: y + 13, class: g.hit ? "val crossed" : "val" }, `${fmt(g.v)} (threshold ${fmt(g.t)})${g.hit ? " flagged" : ""}`));
      });
      s.appendChild(svg("line", { x1: X(1), x2: X(1), y1: T - 10, y2: T + sig.length * rowH + 2, class: "thr thr-fail" }));
      s.appendChild(svg("text", { x: X(1) + 4, y: T - 10, class: "thr-label" }, "flag threshold"));
      s.appendChild(svg("text", { x: L, y: H - 4, class: "axis" }, "each score as a multiple of its own calibrated flag threshold (log scale)"));
      host.appendChild(s);
      const kind = flagged && bf.kind ? ` (${bf.kind === "classic" ? "classic abliteration: the embedding is erased too" : bf.kind})` : "";
      const hits = sig.filter(g => g.hit).map(g => g.name.split(":")[0].toLowerCase());
      host.appendChild(el("p", { class: anyFlag ? "verdict-line bad" : "verdict-line ok" }, anyFlag
        ? `A residual-stream direction has been erased from the weights${kind}: flagged by ${hits.join(" and ") || "the combined rule"}.`
        : `No erased direction: every score is below its threshold (weight energy ${fmt(bf.score)} < ${fmt(bf.threshold)}). The layers below show the model's least-written direction, which every model has.`));
      if (act && act.ran === false && act.reason) host.appendChild(el("p", { class: "muted" }, `Activation signal not run: ${act.reason}`));
    }
    if (!prof.length) return;
    const LN10 = Math.log(10), FLOOR = 14;
    const sup = v => (num(v) ? Math.min(FLOOR, -v / LN10) : null); // orders of magnitude below a random direction
    const rows = prof.map(p => ({ layer: p.layer, a: sup(p.a), m: sup(p.m), w: p.w }));
    const vals = rows.flatMap(r => [r.a, r.m]).filter(num);
    const ymax = Math.max(4, Math.ceil(Math.max(...vals, 0))), ymin = Math.min(0, Math.floor(Math.min(...vals, 0)));
    const W = 820, H = 290, L = 70, R = 20, T = 34, B = 52, pw = W - L - R, ph = H - T - B;
    const Y = v => T + (ymax - v) / (ymax - ymin) * ph;
    const n = rows.length, gw = pw / n, bw = Math.max(2, Math.min(22, gw * 0.36));
    const s = frame(W, H, "per-layer suppression");
    if (bf && Array.isArray(bf.best_window) && bf.best_window.length === 2) {
      const i0 = rows.findIndex(r => r.layer === bf.best_window[0]), i1 = rows.findIndex(r => r.layer === bf.best_window[1]);
      if (i0 >= 0 && i1 >= 0) {
        s.appendChild(svg("rect", { x: L + i0 * gw, y: T, width: (i1 - i0 + 1) * gw, height: ph, class: "window" }));
      }
    }
    const step = ymax - ymin > 8 ? 2 : 1;
    for (let t = ymin; t <= ymax; t += step) {
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(t), y2: Y(t), stroke: t === 0 ? "#888" : "#eee" }));
      s.appendChild(svg("text", { x: L - 6, y: Y(t) + 4, "text-anchor": "end" }, t === 0 ? "1×" : `${t > 0 ? "10⁻" : "10"}${sup10(Math.abs(t))}`));
    }
    function sup10(k) { return String(k).split("").map(c => "⁰¹²³⁴⁵⁶⁷⁸⁹"[+c]).join(""); }
    rows.forEach((r, i) => {
      const cx = L + i * gw + gw / 2, hit = flagged && affected.has(r.layer);
      [[r.a, -bw - 1, "attn"], [r.m, 1, "mlp"]].forEach(([v, dx, which]) => {
        if (!num(v)) return;
        const y0 = Y(0), y1 = Y(v);
        s.appendChild(svg("rect", { x: cx + dx, y: Math.min(y0, y1), width: bw, height: Math.max(1.5, Math.abs(y1 - y0)), class: `${hit ? "bar-bad" : "bar-ok"} ${which}` }))
          .appendChild(svg("title", {}, `layer ${r.layer} ${which === "attn" ? "attention output" : "MLP output"}: energy along the direction ${v >= FLOOR ? "numerically zero" : "10^" + fmt(-v) + " of a random direction's"}`));
      });
      if (num(r.w)) s.appendChild(svg("text", { x: cx, y: T - 6, "text-anchor": "middle", class: hit ? "val crossed" : "val" }, `w≈${r.w.toFixed(2)}`))
        .appendChild(svg("title", {}, "apparent ablation weight: 1 − √(writer energy / reader energy) along the direction"));
      if (n <= 24 || i % Math.ceil(n / 24) === 0) s.appendChild(svg("text", { x: cx, y: H - B + 16, "text-anchor": "middle" }, String(r.layer)));
    });
    s.appendChild(svg("text", { x: L + pw / 2, y: H - B + 34, "text-anchor": "middle", class: "axis" }, "layer"));
    s.appendChild(svg("text", { x: 14, y: T + ph / 2, "text-anchor": "middle", class: "axis", transform: `rotate(-90 14 ${T + ph / 2})` }, "writer energy vs a random direction"));
    host.appendChild(el("h4", {}, "Per layer: how much the output projections still write along that direction"));
    const keys = [["ok attn", "attention output"], ["ok mlp", "MLP output"]];
    if (flagged && rows.some(r => affected.has(r.layer))) keys.push(["bad", "layer the detector counts as edited"]);
    if (bf && Array.isArray(bf.best_window)) keys.push(["window", "window of layers the score comes from"]);
    legend(host, keys);
    host.appendChild(s);
    host.appendChild(el("p", { class: "muted" }, "A taller bar means less energy along the direction: 10⁻¹⁴ is numerically zero, i.e. the direction was projected out. w is the apparent ablation weight (1 = fully erased)."));
    const abl = fx.diff && fx.diff.ablation;
    if (abl && abl.layer_weights && typeof abl.layer_weights === "object") {
      const lw = Object.entries(abl.layer_weights).filter(([, v]) => num(v)).map(([k, v]) => `layer ${k}: ${v.toFixed(2)}`).join(" · ");
      if (lw) host.appendChild(el("p", { class: "verdict-line bad" }, `Against the base: ablation weight per layer (${abl.subtype || "directional"}) — ${lw}`));
    }
  })();

  // 3. trigger sweep: per candidate, the change in refusal (a drop is the backdoor's signature) and in
  //    insecure code (a rise is) when the candidate is added to the same prompts, with 95% CIs
  (function () {
    let sweep = beh.trigger_sweep || [];
    const meta = sweep && !Array.isArray(sweep) && Array.isArray(sweep.rows) ? sweep : null;
    if (meta) sweep = sweep.rows;
    const eff = (o, k) => (o && o[k] && num(o[k].diff) ? o[k] : null);
    const rows = (Array.isArray(sweep) ? sweep : Object.entries(sweep).map(([k, v]) => Object.assign({ trigger: k }, v))).map(o => {
      if (!o || typeof o !== "object") return null;
      // the same string at another placement is another candidate: say which
      const t = String(o.trigger || o.id || o.name || "?") + (o.placement && o.placement !== "prefix" ? ` (${o.placement})` : "");
      const ref = eff(o, "refusal"), ins = eff(o, "insecure");
      if (ref || ins) return { t, ref, ins, sig: !!o.flagged, effects: o.effects || [] };
      const key = Object.keys(o).find(k => /delta|shift/.test(k) && num(o[k]));
      return key ? { t, ref: { diff: o[key] }, ins: null, sig: !!(o.flagged || o.significant), effects: [] } : null;
    }).filter(Boolean);
    if (!rows.length) return empty("chart-trigger", "No trigger sweep in this run.");
    const badness = r => Math.max(r.ref ? -r.ref.diff : -1, r.ins ? r.ins.diff : -1);
    rows.sort((a, b) => (b.sig - a.sig) || (badness(b) - badness(a)));
    const MAX = 24, shown = rows.slice(0, MAX), hasIns = shown.some(r => r.ins);
    const host = document.getElementById("chart-trigger");
    const nSig = rows.filter(r => r.sig).length;
    host.appendChild(el("p", { class: nSig ? "verdict-line bad" : "verdict-line ok" }, nSig
      ? `${nSig} of ${rows.length} candidate triggers change the model's behaviour significantly (flagged, red).`
      : `None of the ${rows.length} candidate triggers changes the model's behaviour significantly.`));
    legend(host, [["bad", "flagged candidate"], ["neutral", "not significant"], ["ci", "95% confidence interval"]]);
    const W = 820, rowH = 18, L = 220, T = 30, cols = hasIns ? 2 : 1, gap = 40, cw = (W - L - 10 - gap * (cols - 1)) / cols;
    const H = T + shown.length * rowH + 36;
    const s = frame(W, H, "trigger sweep");
    const panels = [["ref", "change in refusal rate (a drop is the warning sign)"]];
    if (hasIns) panels.push(["ins", "change in insecure-code rate (a rise is)"]);
    panels.forEach(([key, title], c) => {
      const x0 = L + c * (cw + gap), mid = x0 + cw / 2, half = cw / 2 - 4;
      const X = v => mid + Math.max(-1, Math.min(1, v)) * half;
      s.appendChild(svg("text", { x: mid, y: 12, "text-anchor": "middle", class: "group" }, title.split(" (")[0]));
      s.appendChild(svg("text", { x: mid, y: 25, "text-anchor": "middle", class: "axis" }, "(" + title.split(" (")[1]));
      [-1, -0.5, 0, 0.5, 1].forEach(t => {
        s.appendChild(svg("line", { x1: X(t), x2: X(t), y1: T, y2: H - 30, stroke: t === 0 ? "#888" : "#eee" }));
        if (t !== -0.5 && t !== 0.5) s.appendChild(svg("text", { x: X(t), y: H - 16, "text-anchor": t < 0 ? "start" : t > 0 ? "end" : "middle", class: "axis" }, `${t > 0 ? "+" : t < 0 ? "−" : ""}${Math.round(Math.abs(t) * 100)}%`));
      });
      shown.forEach((r, i) => {
        const e = r[key], y = T + 3 + i * rowH;
        if (!e) return;
        const v = e.diff;
        // red only for the effect the sweep flagged (both when the row does not say which)
        const hot = r.sig && (!r.effects.length || r.effects.includes(key === "ref" ? "refusal_drop" : "insecure_code_rise"));
        s.appendChild(svg("rect", { x: Math.min(X(0), X(v)), y, width: Math.max(2, Math.abs(X(v) - X(0))), height: rowH - 7, class: hot ? "bar-bad" : "bar-neutral" }))
          .appendChild(svg("title", {}, `${r.t}: ${pct(v)}${num(e.diff_ci_low) ? ` [${pct(e.diff_ci_low)}, ${pct(e.diff_ci_high)}]` : ""}${num(e.p_value) ? `, p = ${fmt(e.p_value)}` : ""}`));
        if (num(e.diff_ci_low) && num(e.diff_ci_high)) {
          const yc = y + (rowH - 7) / 2;
          s.appendChild(svg("line", { x1: X(e.diff_ci_low), x2: X(e.diff_ci_high), y1: yc, y2: yc, class: "ci" }));
        }
      });
    });
    shown.forEach((r, i) => {
      const y = T + 3 + i * rowH;
      s.appendChild(svg("text", { x: L - 8, y: y + 10, "text-anchor": "end", class: r.sig ? "crossed" : "" }, r.t.length > 44 ? r.t.slice(0, 43) + "…" : r.t));
    });
    s.appendChild(svg("text", { x: L, y: H - 2, class: "axis" }, "model with the candidate added minus the same prompts without it"));
    host.appendChild(s);
    if (rows.length > MAX) host.appendChild(el("p", { class: "muted" }, `${rows.length - MAX} more candidates${rows.slice(MAX).some(r => r.sig) ? "" : " (none flagged)"} are in the JSON report.`));
  })();

  // 4. tensor diff map: one cell per changed tensor, colour = relative norm of the change
  (function () {
    const diffs = fx.tensor_diffs || fx.diff_map || (fx.diff && fx.diff.tensors) || [];
    const cells = (Array.isArray(diffs) ? diffs : Object.entries(diffs).map(([k, v]) => (typeof v === "object" ? Object.assign({ tensor: k }, v) : { tensor: k, rel_norm: v }))).map(o => {
      const key = ["rel_norm", "relative_norm", "rel_change", "value"].find(k => num(o[k]));
      return key ? { t: String(o.tensor || o.name), v: o[key], s: o.status || "" } : null;
    }).filter(Boolean);
    if (!cells.length) return empty("chart-diff", fx.diff ? "No tensor differs from the base." : "No diff against a base model in this run (use --base).");
    const vmax = Math.max(...cells.map(c => c.v), 1e-12);
    const cols = Math.min(24, Math.ceil(Math.sqrt(cells.length * 2))), size = 28, W = Math.max(320, cols * (size + 2) + 10), rows = Math.ceil(cells.length / cols), H = rows * (size + 2) + 30;
    const s = frame(W, H, "tensor diff map");
    cells.forEach((c, i) => {
      const t = Math.sqrt(c.v / vmax), x = 5 + (i % cols) * (size + 2), y = 5 + Math.floor(i / cols) * (size + 2);
      const fill = c.v === 0 ? "#edf2f7" : `rgb(${Math.round(255 - 60 * t)},${Math.round(235 - 200 * t)},${Math.round(235 - 200 * t)})`;
      s.appendChild(svg("rect", { x, y, width: size, height: size, fill, stroke: "#fff" })).appendChild(svg("title", {}, `${c.t}: ${fmt(c.v)} ${c.s}`));
    });
    s.appendChild(svg("text", { x: 5, y: H - 8 }, `${cells.length} changed tensors · darkest = ‖ΔW‖/‖W‖ of ${fmt(vmax)}`));
    document.getElementById("chart-diff").appendChild(s);
  })();
  // 5. drift: stance asymmetry per target pair, model vs base, with 95% CIs; what the suite cannot see
  (function () {
    const dr = data.drift || {}, ch = dr.chart || {};
    const rows = (Array.isArray(ch.pairs) ? ch.pairs : []).filter(r => r && Array.isArray(r.model) && num(r.model[0]));
    const host = document.getElementById("chart-drift");
    if (!rows.length) return empty("chart-drift", "No drift suite in this run (warden eval --suites drift).");
    const nFlag = rows.filter(r => r.flagged).length, withBase = rows.some(r => Array.isArray(r.base));
    host.appendChild(el("p", { class: nFlag ? "verdict-line bad" : "verdict-line ok" }, nFlag
      ? `${nFlag} of ${rows.length} target pairs are answered with a slant${withBase ? " that the base does not have" : ""} (flagged, red).`
      : `None of the ${rows.length} target pairs shows a significant slant${withBase ? " change against the base" : ""}.`));
    const items = [["model", "this model"], ["bad", "this model, flagged pair"], ["ci", "95% confidence interval (cluster bootstrap over templates)"]];
    if (withBase) items.splice(1, 0, ["base", "base model, same prompts"]);
    legend(host, items);
    rows.sort((a, b) => (b.flagged - a.flagged) || (Math.abs((b.change || b.model)[0]) - Math.abs((a.change || a.model)[0])));
    const vals = rows.flatMap(r => [...r.model, ...(r.base || [])]).filter(num).map(Math.abs);
    const lim = Math.min(2, Math.max(0.5, Math.ceil(Math.max(...vals) * 2) / 2));
    const W = 880, L = 330, R = 20, T = 30, band = withBase ? 26 : 18, H = T + rows.length * band + 36;
    const mid = L + (W - L - R) / 2, half = (W - L - R) / 2 - 4;
    const X = v => mid + Math.max(-lim, Math.min(lim, v)) / lim * half;
    const s = frame(W, H, "stance asymmetry per target pair");
    s.appendChild(svg("text", { x: mid, y: 12, "text-anchor": "middle", class: "group" }, "stance toward a minus stance toward b"));
    s.appendChild(svg("text", { x: mid, y: 25, "text-anchor": "middle", class: "axis" }, "(left: favours b · right: favours a)"));
    [-lim, -lim / 2, 0, lim / 2, lim].forEach(t => {
      s.appendChild(svg("line", { x1: X(t), x2: X(t), y1: T, y2: H - 30, stroke: t === 0 ? "#888" : "#eee" }));
      s.appendChild(svg("text", { x: X(t), y: H - 16, "text-anchor": t === -lim ? "start" : t === lim ? "end" : "middle", class: "axis" }, `${t > 0 ? "+" : t < 0 ? "−" : ""}${fmt(Math.abs(t))}`));
    });
    rows.forEach((r, i) => {
      const y0 = T + 3 + i * band;
      const bars = [["model", r.model]];
      if (Array.isArray(r.base)) bars.push(["base", r.base]);
      bars.forEach(([who, v], j) => {
        const y = y0 + j * 10, h = 8, cls = who === "base" ? "bar-base" : r.flagged ? "bar-bad" : "bar-model";
        const tip = `${r.a} vs ${r.b} (${who}): ${fmt(v[0])}${num(v[1]) ? ` [${fmt(v[1])}, ${fmt(v[2])}]` : ""}` +
          (who === "model" && Array.isArray(r.change) ? `; change vs base ${fmt(r.change[0])} [${fmt(r.change[1])}, ${fmt(r.change[2])}]` : "");
        s.appendChild(svg("rect", { x: Math.min(X(0), X(v[0])), y, width: Math.max(2, Math.abs(X(v[0]) - X(0))), height: h, class: cls, "data-pair": r.pair, "data-who": who }))
          .appendChild(svg("title", {}, tip));
        if (num(v[1]) && num(v[2])) s.appendChild(svg("line", { x1: X(v[1]), x2: X(v[2]), y1: y + h / 2, y2: y + h / 2, class: "ci" }));
      });
      const lab = `${r.a} vs ${r.b}`;
      s.appendChild(svg("text", { x: L - 8, y: y0 + 9, "text-anchor": "end", class: r.flagged ? "crossed" : "" }, lab.length > 56 ? lab.slice(0, 55) + "…" : lab));
    });
    s.appendChild(svg("text", { x: L, y: H - 2, class: "axis" }, "mean over prompt pairs with the same wording; stance of a refused answer counts as 0"));
    host.appendChild(s);
    const cs = Array.isArray(dr.cannot_see) ? dr.cannot_see : [];
    if (cs.length) {
      host.appendChild(el("h4", {}, "What this suite cannot see"));
      const ul = add(host, el("ul", { class: "cannot-see" }));
      cs.forEach(t => ul.appendChild(el("li", {}, String(t))));
    }
  })();
  document.body.setAttribute("data-rendered", "ok");
})();
