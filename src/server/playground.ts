/**
 * The playground page served at `/`: one static HTML document (no build step, no external assets),
 * kept in a module so every runtime and the single binary serve it without reading files.
 * It streams from /v1/completions or /v1/chat/completions and colours each piece of text by the
 * drafter whose accepted guess produced it (the stream's `source` field); live figures come from
 * the chunks, final ones from the closing chunk's `timings`.
 * Query parameters `prompt`, `mode`, `drafter`, `max_tokens`, `autorun=1` let tests drive it.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgespec playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
 header{padding:10px 18px;background:#1d2330;color:#fff;display:flex;gap:14px;align-items:baseline}
 header b{font-size:17px} header span{opacity:.7}
 main{display:grid;grid-template-columns:340px 1fr;gap:16px;padding:16px}
 label{display:block;margin:8px 0 2px;font-weight:600}
 textarea,input,select{width:100%;box-sizing:border-box;font:13px ui-monospace,monospace;padding:6px}
 textarea{height:160px} .row{display:flex;gap:8px} .row>div{flex:1}
 button{margin-top:10px;padding:7px 16px;font-weight:600;cursor:pointer}
 #out{white-space:pre-wrap;font:13px/1.5 ui-monospace,monospace;background:#fff;border:1px solid #ccd;min-height:300px;padding:10px}
 #stats{display:flex;gap:22px;margin:8px 0;font-variant-numeric:tabular-nums}
 #stats b{font-size:18px} .prompt{color:#6b7280} .legend span{padding:1px 6px;margin-right:6px;border-radius:3px}
 #err{color:#b00020;white-space:pre-wrap}
</style></head>
<body>
<header><b>edgespec</b><span id="model">…</span><span>lossless speculative decoding, highlighted by drafter</span></header>
<main>
<section>
 <label for="prompt">Prompt</label><textarea id="prompt">def fibonacci(n):</textarea>
 <div class="row"><div><label for="mode">Endpoint</label><select id="mode"><option value="completion">completions</option><option value="chat">chat</option></select></div>
 <div><label for="drafter">Drafter</label><select id="drafter"></select></div></div>
 <div class="row"><div><label for="max">Max tokens</label><input id="max" type="number" value="128" min="1"></div>
 <div><label for="temp">Temperature</label><input id="temp" type="number" value="0" min="0" max="2" step="0.1"></div></div>
 <label for="key">API key (if the server needs one)</label><input id="key" type="password" autocomplete="off">
 <button id="go">Generate</button> <button id="stop" disabled>Stop</button>
 <div id="err"></div>
</section>
<section>
 <div id="stats"><div>tokens/s <b id="tps">–</b></div><div>mean accepted length <b id="mal">–</b></div><div>tokens <b id="ntok">0</b></div><div>drafted/accepted <b id="acc">–</b></div></div>
 <div class="legend" id="legend"></div>
 <div id="out"></div>
</section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
const palette = ["#ffe08a", "#a7e3b0", "#9fd3ff", "#f5b8e6", "#ffc49b", "#c9b8ff"];
const colours = {};
let controller;
function colour(src) {
  if (!(src in colours)) {
    colours[src] = palette[Object.keys(colours).length % palette.length];
    const s = document.createElement("span");
    s.textContent = src; s.style.background = colours[src]; $("legend").appendChild(s);
  }
  return colours[src];
}
// The API lives beside this page, wherever the app is mounted (app.route("/llm", …) serves it at /llm).
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
function headers() {
  const h = { "Content-Type": "application/json" };
  const k = $("key").value || localStorage.getItem("edgespec-key");
  if (k) { h.Authorization = "Bearer " + k; localStorage.setItem("edgespec-key", k); }
  return h;
}
async function init() {
  for (const p of ["prompt", "mode", "max_tokens", "drafter"]) if (q.has(p)) ({ prompt: $("prompt"), mode: $("mode"), max_tokens: $("max"), drafter: $("drafter") })[p].value = q.get(p);
  try {
    const r = await fetch(base + "v1/models", { headers: headers() });
    const m = (await r.json()).data[0];
    $("model").textContent = m.id;
    for (const d of m.edgespec?.drafters ?? ["none"]) { const o = document.createElement("option"); o.value = o.textContent = d; $("drafter").appendChild(o); }
    $("drafter").value = q.get("drafter") ?? m.edgespec?.default_drafter ?? "none";
  } catch (e) { $("err").textContent = "cannot list models: " + e; }
  if (q.get("autorun") === "1") run();
}
async function run() {
  controller = new AbortController();
  $("go").disabled = true; $("stop").disabled = false; $("err").textContent = ""; $("out").textContent = "";
  document.body.dataset.done = "0";
  const mode = $("mode").value, prompt = $("prompt").value;
  const body = { model: $("model").textContent, stream: true, max_tokens: Number($("max").value), temperature: Number($("temp").value), drafter: $("drafter").value };
  if (mode === "chat") body.messages = [{ role: "user", content: prompt }];
  else { body.prompt = prompt; const p = document.createElement("span"); p.className = "prompt"; p.textContent = prompt; $("out").appendChild(p); }
  let chunks = 0, steps = 0, t0 = 0;
  try {
    const res = await fetch(base + (mode === "chat" ? "v1/chat/completions" : "v1/completions"), { method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal });
    if (!res.ok) throw new Error((await res.json()).error.message);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\\n\\n")) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
        const m = JSON.parse(ev.slice(6));
        if (m.error) throw new Error(m.error.message);
        const c = m.choices?.[0]; if (!c) continue;
        const text = mode === "chat" ? c.delta?.content : c.text;
        if (text) {
          if (!t0) t0 = performance.now();
          chunks++; if (m.source === "model" && chunks > 1) steps++;
          const s = document.createElement("span"); s.textContent = text;
          if (m.source && m.source !== "model") { s.style.background = colour(m.source); s.className = "src-" + m.source; s.title = "accepted from " + m.source; }
          $("out").appendChild(s);
          const secs = (performance.now() - t0) / 1000;
          $("ntok").textContent = chunks;
          if (secs > 0) $("tps").textContent = (chunks / secs).toFixed(1);
          if (steps) $("mal").textContent = ((chunks - 1) / steps).toFixed(2);
        }
        if (m.timings) {
          $("tps").textContent = m.timings.predicted_per_second.toFixed(1);
          $("mal").textContent = m.timings.mean_accepted_length ? m.timings.mean_accepted_length.toFixed(2) : "1.00";
          $("ntok").textContent = m.timings.predicted_n;
          $("acc").textContent = m.timings.draft_n + " / " + m.timings.draft_n_accepted;
        }
      }
    }
  } catch (e) { if (e.name !== "AbortError") $("err").textContent = String(e.message ?? e); }
  $("go").disabled = false; $("stop").disabled = true; document.body.dataset.done = "1";
}
$("go").onclick = run;
$("stop").onclick = () => controller?.abort();
init();
</script>
</body></html>
`;
