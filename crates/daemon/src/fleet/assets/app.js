// anyns fleet dashboard: polls the server's JSON and redraws. No framework, no CDN.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const sitePath = location.pathname.match(/^\/site\/([^/]+)$/);
const siteName = sitePath ? decodeURIComponent(sitePath[1]) : null;
let intervalMs = 2000;

function withToken(url) {
  return token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(Math.abs(seconds));
  const sign = seconds < 0 ? "-" : "";
  if (s < 60) return sign + s + "s";
  if (s < 3600) return sign + Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  if (s < 86400) return sign + Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  return sign + Math.floor(s / 86400) + "d" + Math.floor(s % 86400 / 3600) + "h";
}

function cloudClass(state) {
  if (state === "announced" || state === "guard-held") return "ok";
  if (state === "draining" || state === "drained" || state === "hold-down" || state === "suppressed") return "warn";
  return "bad";
}

function cloudBadge(cloud) {
  return el("span", { class: "badge " + cloudClass(cloud.state), title: cloud.reason || "" },
    cloud.name + " " + cloud.state);
}

function replaceRows(table, rows, empty) {
  if (!rows.length) {
    const columns = table.querySelectorAll("thead th").length || 1;
    rows = [el("tr", {}, el("td", { colspan: columns, class: "muted" }, empty || "none"))];
  }
  table.querySelector("tbody").replaceChildren(...rows);
}

function card(label, value, kind) {
  return el("div", { class: "card " + (kind || "") },
    el("div", { class: "label" }, label), el("div", { class: "value" }, value));
}

// A filled line plot of [t, value] points as SVG (a sparkline when small).
function plot(points, opts) {
  const w = opts.width, h = opts.height, pad = opts.axes ? 18 : 2;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const values = points.filter(p => p[1] !== null);
  if (values.length < 2) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", 4); t.setAttribute("y", h / 2); t.setAttribute("class", "axis");
    t.textContent = "collecting…";
    svg.append(t);
    return svg;
  }
  const t0 = values[0][0], t1 = values[values.length - 1][0];
  const max = Math.max(opts.min || 1, ...values.map(p => p[1]));
  const x = t => pad + (w - 2 * pad) * (t - t0) / Math.max(1, t1 - t0);
  const y = v => h - pad - (h - 2 * pad) * v / max;
  const path = values.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
  const area = document.createElementNS(ns, "path");
  area.setAttribute("d", path + ` L${x(t1).toFixed(1)},${h - pad} L${x(t0).toFixed(1)},${h - pad} Z`);
  area.setAttribute("class", "area");
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", path);
  line.setAttribute("class", "line");
  svg.append(area, line);
  if (opts.axes) {
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 2); label.setAttribute("y", 10); label.setAttribute("class", "axis");
    label.textContent = "max " + (Math.round(max * 10) / 10);
    const span = document.createElementNS(ns, "text");
    span.setAttribute("x", w - 2); span.setAttribute("y", h - 4); span.setAttribute("class", "axis");
    span.setAttribute("text-anchor", "end");
    span.textContent = duration(t1 - t0) + " shown";
    svg.append(label, span);
  }
  return svg;
}

function renderFleet(data) {
  const view = data.view;
  const sitesOk = view.sites.filter(s => s.reachable === s.endpoints).length;
  const clouds = view.sites.flatMap(s => s.clouds);
  const announced = clouds.filter(c => cloudClass(c.state) === "ok").length;
  const laggards = view.zones.filter(z => z.lagging.length).length;
  const answered = view.anycast.filter(a => a.answered_by).length;
  document.getElementById("cards").replaceChildren(
    card("Sites reachable", `${sitesOk}/${view.sites.length}`, sitesOk === view.sites.length ? "ok" : "bad"),
    card("Clouds announced (site × cloud)", `${announced}/${clouds.length}`, announced === clouds.length ? "ok" : "warn"),
    card("Zones with laggards", String(laggards), laggards ? "warn" : "ok"),
    card("Anycast addresses answering", `${answered}/${view.anycast.length}`, answered === view.anycast.length ? "ok" : "bad"),
  );
  replaceRows(document.getElementById("sites"), view.sites.map(site => {
    const state = site.reachable === site.endpoints ? el("span", { class: "badge ok" }, "ok")
      : site.reachable === 0 ? el("span", { class: "badge bad" }, "unreachable")
      : el("span", { class: "badge warn" }, `partial ${site.reachable}/${site.endpoints}`);
    const history = (data.history[site.name] || []).slice(-300).map(s => [s.t, s.qps]);
    return el("tr", { "data-site": site.name },
      el("td", {}, el("a", { href: withToken("/site/" + encodeURIComponent(site.name)) }, site.name)),
      el("td", { class: "state" }, state),
      el("td", { class: "clouds" }, site.clouds.length ? site.clouds.map(cloudBadge) : el("span", { class: "muted" }, "–")),
      el("td", { class: "num" }, site.peers ? `${site.peers_up}/${site.peers}` : "–"),
      el("td", { class: "num" }, site.reachable && site.queries_per_second !== null ? site.queries_per_second.toFixed(1) : "–"),
      el("td", {}, plot(history, { width: 160, height: 28 })),
      el("td", { class: "problem" }, site.errors.join("; ")),
    );
  }));
  const zones = document.getElementById("zones");
  zones.querySelector("thead").replaceChildren(el("tr", {},
    el("th", {}, "Zone"), view.sites.map(s => el("th", {}, s.name)), el("th", {}, "Lagging")));
  replaceRows(zones, view.zones.map(zone => el("tr", { "data-zone": zone.name },
    el("td", {}, zone.name),
    zone.serials.map((serial, i) => {
      const lagging = zone.lagging.includes(view.sites[i].name);
      return el("td", { class: "num" + (lagging ? " lag" : "") }, serial === null ? "–" : String(serial) + (lagging ? " ⚠" : ""));
    }),
    el("td", { class: zone.lagging.length ? "lag" : "muted" }, zone.lagging.join(", ") || "–"),
  )));
  replaceRows(document.getElementById("anycast"), view.anycast.map(a => el("tr", {},
    el("td", {}, a.cloud), el("td", { class: "num" }, a.address),
    el("td", {}, a.answered_by ? a.answered_by : el("span", { class: "problem" }, a.error || "no answer")),
    el("td", { class: "num" }, a.rtt_ms === null ? "–" : a.rtt_ms.toFixed(1) + " ms"),
  )));
}

function renderSite(data) {
  const site = data.view.sites.find(s => s.name === siteName);
  document.getElementById("crumb").textContent = " / " + siteName;
  if (!site) {
    document.getElementById("site-cards").replaceChildren(card("Site", "not in the inventory", "bad"));
    return;
  }
  const history = data.history[siteName] || [];
  const lastQps = site.queries_per_second;
  document.getElementById("site-cards").replaceChildren(
    card("Reachable", `${site.reachable}/${site.endpoints}`, site.reachable === site.endpoints ? "ok" : "bad"),
    card("Clouds announced", `${site.clouds.filter(c => cloudClass(c.state) === "ok").length}/${site.clouds.length}`),
    card("BGP sessions up", site.peers ? `${site.peers_up}/${site.peers}` : "–", site.peers_up === site.peers ? "ok" : "warn"),
    card("Queries/s", site.reachable && lastQps !== null ? lastQps.toFixed(1) : "–"),
  );
  document.getElementById("plot-qps").replaceChildren(plot(history.map(s => [s.t, s.qps]), { width: 400, height: 120, axes: true }));
  document.getElementById("plot-announced").replaceChildren(plot(history.map(s => [s.t, s.announced]), { width: 400, height: 120, axes: true }));
  document.getElementById("plot-lag").replaceChildren(plot(history.map(s => [s.t, s.lag]), { width: 400, height: 120, axes: true, min: 1 }));
  const statuses = data.statuses || [];
  replaceRows(document.getElementById("site-clouds"), statuses.flatMap(st => (st.clouds || []).map(c => el("tr", {},
    el("td", {}, c.name), el("td", {}, el("span", { class: "badge " + cloudClass(c.state) }, c.state)),
    el("td", { class: "num" }, `${c.instances_up}/${c.instances}`), el("td", { class: "num" }, c.penalty),
    el("td", {}, c.last_reason || "–"),
    el("td", { class: "muted" }, (c.recent || []).slice(-3).join(" · ") || "–"),
  ))), "no health checks at this site");
  replaceRows(document.getElementById("site-peers"), statuses.flatMap(st => (st.peers || []).map(p => el("tr", {},
    el("td", { class: "num" }, p.address),
    el("td", {}, el("span", { class: "badge " + (p.state === "Established" ? "ok" : "bad") }, p.state)),
    el("td", { class: "num" }, duration(p.uptime_seconds)),
    el("td", {}, (p.announced || []).join(", ") || "–"), el("td", { class: "muted" }, p.last_error || "–"),
  ))), "no BGP speaker at this site");
  replaceRows(document.getElementById("site-zones"), statuses.flatMap(st => (st.zones || []).map(z => el("tr", {},
    el("td", {}, z.name), el("td", {}, z.kind || "–"), el("td", { class: "num" }, z.serial === null ? "–" : z.serial),
    el("td", { class: "num" }, z.primary_serial === null ? "–" : z.primary_serial),
    el("td", { class: "num" + (z.lag_seconds !== null ? " lag" : "") }, z.lag_seconds === null ? "–" : duration(z.lag_seconds)),
  ))), site.reachable ? "no zone" : "site unreachable");
}

async function refresh() {
  const dot = document.getElementById("dot");
  try {
    const url = siteName ? "/api/site/" + encodeURIComponent(siteName) : "/api/fleet";
    const response = await fetch(withToken(url), { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    intervalMs = Math.max(500, data.interval_ms || 2000);
    document.getElementById("interval").textContent = (intervalMs / 1000).toString();
    if (data.view) {
      if (siteName) renderSite(data); else renderFleet(data);
      document.getElementById("updated").textContent =
        "updated " + new Date(data.updated_unix_ms).toLocaleTimeString();
      dot.className = "dot live";
    } else {
      document.getElementById("updated").textContent = "first poll under way…";
    }
  } catch (error) {
    dot.className = "dot stale";
    document.getElementById("updated").textContent = "dashboard unreachable (" + error.message + "); retrying";
  }
  setTimeout(refresh, intervalMs);
}

if (siteName) {
  document.getElementById("fleet-page").hidden = true;
  document.getElementById("site-page").hidden = false;
  document.title = "anyns fleet: " + siteName;
}
document.getElementById("home").setAttribute("href", withToken("/"));
refresh();
