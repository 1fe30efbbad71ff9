// lbd's dashboard: polls /api/observe once a second and redraws the tables and charts in
// place (no reload).  Rates come from two successive snapshots; charts keep HISTORY points.
"use strict";

const PERIOD_MS = 1000;
const HISTORY = 60;
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";

let previous = null;           // last snapshot
const history = new Map();     // "service/backend" -> [{conns, bytes}] per second

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function swatch(colour) {
  const node = el("span", { class: "swatch" });
  node.style.background = colour;  // CSSOM, which the page's CSP allows (inline style not)
  return node;
}

function num(value, attrs = {}) {
  return el("td", { class: "num", ...attrs }, value);
}

function human(value, unit) {
  if (value === null || value === undefined) return "-";
  const steps = ["", "k", "M", "G", "T"];
  let i = 0;
  while (Math.abs(value) >= 1000 && i < steps.length - 1) { value /= 1000; i += 1; }
  return `${value.toFixed(value < 10 && i > 0 ? 2 : value < 10 ? 1 : 0)} ${steps[i]}${unit}`;
}

function rate(now, before, dt) {
  if (before === undefined || dt <= 0) return null;
  return Math.max(0, (now - before) / dt);
}

function byBackend(snapshot) {
  const out = new Map();
  for (const service of snapshot.services) {
    for (const backend of service.backends) out.set(`${service.name}/${backend.name}`, backend);
  }
  return out;
}

function renderSwitches(snapshot, dt) {
  const before = new Map((previous ? previous.switches : []).map((s) => [s.name, s]));
  const body = document.querySelector("#switches tbody");
  body.replaceChildren(...snapshot.switches.map((sw) => {
    const old = before.get(sw.name);
    const ins = Object.values(sw.packet_ins).reduce((a, b) => a + b, 0);
    const oldIns = old ? Object.values(old.packet_ins).reduce((a, b) => a + b, 0) : undefined;
    const writes = Object.values(sw.writes).reduce((a, b) => a + b, 0);
    const errors = sw.write_errors.reduce((a, e) => a + e.count, 0);
    return el("tr", { "data-switch": sw.name },
      el("td", {}, sw.name), el("td", {}, sw.address),
      el("td", {}, sw.connected ? "yes" : "no"), el("td", {}, sw.synchronised ? "yes" : "no"),
      el("td", {}, sw.status), num(human(rate(ins, oldIns, dt), "/s")),
      num(writes), num(errors));
  }));
}

function chart(title, series, unit) {
  const width = 320, height = 90, pad = 4;
  const peak = Math.max(1e-9, ...series.flatMap((s) => s.points));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  for (const s of series) {
    const line = document.createElementNS(SVG, "polyline");
    const step = (width - 2 * pad) / (HISTORY - 1);
    const offset = HISTORY - s.points.length;
    line.setAttribute("points", s.points.map((v, i) =>
      `${(pad + (offset + i) * step).toFixed(1)},` +
      `${(height - pad - (v / peak) * (height - 2 * pad)).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", s.colour);
    line.setAttribute("stroke-width", "1.6");
    svg.append(line);
  }
  return el("div", { class: "chart" }, el("h4", {}, `${title} (peak ${human(peak, unit)})`),
            svg);
}

function renderServices(snapshot, dt) {
  const before = previous ? byBackend(previous) : new Map();
  const sections = snapshot.services.map((service) => {
    const rows = [];
    const conns = [], bytes = [];
    service.backends.forEach((backend, index) => {
      const key = `${service.name}/${backend.name}`;
      const old = before.get(key);
      const connRate = rate(backend.connections_total, old && old.connections_total, dt);
      const byteRate = rate(backend.bytes, old && old.bytes, dt);
      const packetRate = rate(backend.packets, old && old.packets, dt);
      const points = history.get(key) || [];
      if (connRate !== null) {
        points.push({ conns: connRate, bytes: byteRate });
        if (points.length > HISTORY) points.shift();
      }
      history.set(key, points);
      const colour = COLOURS[index % COLOURS.length];
      conns.push({ colour, points: points.map((p) => p.conns) });
      bytes.push({ colour, points: points.map((p) => p.bytes) });
      const health = backend.health === null || backend.health === undefined
        ? "-" : backend.health;
      rows.push(el("tr", { "data-service": service.name, "data-backend": backend.name,
                           "data-state": backend.state },
        el("td", {}, swatch(colour), backend.name),
        el("td", {}, backend.address ? `${backend.address}:${backend.port}` : "-"),
        num(backend.weight),
        el("td", { class: `state state-${backend.state}` }, backend.state),
        el("td", { class: "health" }, health),
        num(backend.active), num(backend.connections_total),
        num(human(connRate, "/s")), num(human(packetRate, "/s")),
        num(human(byteRate, "B/s")), num(human(backend.bytes, "B"))));
    });
    const table = el("table", { class: "backends" },
      el("thead", {}, el("tr", {}, ...["backend", "address", "weight", "state", "health",
        "active", "connections", "new conn/s", "packets/s", "bytes/s", "bytes"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
    const meta = `${service.vip}:${service.port}/${service.protocol} · mode ${service.mode}` +
      ` · scheduler ${service.scheduler} · pools ${(service.pools || []).join(", ")}` +
      ` · ${service.active} active · ${human(service.bytes, "B")}`;
    return el("div", { class: "service", "data-service": service.name },
      el("h3", {}, service.name), el("div", { class: "meta" }, meta), table,
      el("div", { class: "charts" },
        chart("new connections (requests) per second", conns, "/s"),
        chart("bytes per second", bytes, "B/s")));
  });
  document.getElementById("services").replaceChildren(...sections);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const reply = await fetch("/api/observe", { cache: "no-store", credentials: "same-origin" });
    if (!reply.ok) throw new Error(`HTTP ${reply.status}: ${(await reply.text()).trim()}`);
    const snapshot = await reply.json();
    const dt = previous ? snapshot.time - previous.time : 0;
    renderSwitches(snapshot, dt);
    renderServices(snapshot, dt);
    previous = snapshot;
    status.className = "status";
    status.textContent = `updated ${new Date(snapshot.time * 1000).toLocaleTimeString()}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (err) {
    status.className = "status error";
    status.textContent = `lbd unreachable: ${err.message}`;
  }
  setTimeout(refresh, PERIOD_MS);
}

refresh();
