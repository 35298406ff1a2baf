// Everything the browser loads comes from the appliance itself (closed network): one stylesheet and
// one small script. The script refreshes the consistency progress and, after a download form (an issued
// certificate), the part of the page the download changed; every form works without it.
export const STYLESHEET = `
:root { --fg:#1d2733; --muted:#5b6b7c; --line:#d5dde5; --bg:#f4f6f8; --accent:#0b5cad; --ok:#1b7f3b; --warn:#b36b00; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, "Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", sans-serif; color:var(--fg); background:var(--bg); }
header { background:#13324f; color:#fff; padding:8px 16px; display:flex; align-items:center; gap:24px; }
header .brand { font-weight:700; font-size:16px; }
header .who { margin-left:auto; font-size:13px; }
.simulated { background:#b3261e; color:#fff; font-weight:700; font-size:15px; padding:10px 16px; border-bottom:4px solid #f2c200; }
header a, header button.link { color:#fff; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:0 16px; display:flex; flex-wrap:wrap; gap:2px; }
nav a { padding:8px 10px; color:var(--fg); text-decoration:none; border-bottom:3px solid transparent; }
nav a.active { border-bottom-color:var(--accent); font-weight:700; }
main { padding:16px; max-width:1280px; }
h1 { font-size:20px; margin:4px 0 12px; }
h2 { font-size:16px; margin:0 0 8px; }
.grid { display:grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px; overflow-x:auto; }
.card.wide { grid-column: 1 / -1; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:break-word; }
th { white-space:nowrap; }
td.any, td .any { overflow-wrap:anywhere; }
th { background:#eef2f6; font-weight:700; }
td.time, td.nowrap { white-space:nowrap; }
/* Japanese words break only at spaces and punctuation (バックアップ, バイト stay whole). */
td, th { word-break:keep-all; }
td.progress { white-space:nowrap; min-width:12em; } td.progress progress { display:block; }
.muted { color:var(--muted); }
.na { color:var(--muted); font-style:italic; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
.badge { display:inline-block; padding:1px 7px; border-radius:10px; font-size:12px; border:1px solid currentColor; }
.flash { padding:8px 12px; border-radius:4px; margin-bottom:12px; background:#e7f4ea; border:1px solid #9bcfaa; }
.flash.error { background:#fbeaea; border-color:#e3a3a0; }
form.inline { display:inline; }
label { display:block; margin:6px 0 2px; font-weight:700; }
input[type=text], input[type=password], input[type=number], select, textarea { font:inherit; padding:5px 7px; border:1px solid #aab6c2; border-radius:4px; min-width:260px; }
textarea { width:100%; font-family: ui-monospace, "Noto Sans Mono CJK JP", monospace; font-size:13px; }
input.path { width:100%; max-width:640px; }
input.invalid, textarea.invalid { border-color:var(--bad); outline: 2px solid #f3c1be; }
.field-error { color:var(--bad); font-size:13px; margin:2px 0 6px; }
button { font:inherit; padding:5px 12px; border-radius:4px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); }
button.danger { background:var(--bad); border-color:var(--bad); }
button.link { background:none; border:none; padding:0; text-decoration:underline; }
pre.src { background:#fff; border:1px solid var(--line); padding:0; margin:0; overflow:auto; font-size:12px; }
pre.src span { display:block; padding:0 8px; white-space:pre; }
pre.src span.err { background:#fbeaea; }
pre.diff span.add { background:#e7f4ea; } pre.diff span.del { background:#fbeaea; }
progress { width:100%; height:18px; }
.login { max-width:380px; margin:60px auto; }
svg.chart { width:100%; height:auto; max-height:320px; background:#fff; }
svg.chart text { font-size:10px; fill:#5b6b7c; }
#rate-chart text { font-size:8px; }
.depth-charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(320px, 1fr)); gap:8px; } .depth-charts figure { margin:0; }
.depth-charts svg.chart text { font-size:16px; }
`;

/**
 * Refreshes the consistency page while a run is in progress (same origin, CSP script-src 'self'). A form
 * with data-download-refresh="#id" is posted in the background: its file is saved, then the element #id
 * is replaced by the same element of the page read again (a plain post would leave it stale until a
 * reload). A refusal (a redirect to the page with its message) is followed as the plain form would.
 */
export const SCRIPT = `
(function () {
  var p = document.querySelector('[data-refresh-ms]');
  if (p) setTimeout(function () { location.reload(); }, Number(p.getAttribute('data-refresh-ms')) || 1000);
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    var target = f && f.getAttribute && f.getAttribute('data-download-refresh');
    if (!target || !window.fetch) return;
    ev.preventDefault();
    fetch(f.action, { method: 'POST', body: new URLSearchParams(new FormData(f)), credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) {
        if (!r.ok) { location.href = location.pathname; return; }
        var name = (/filename="([^"]+)"/.exec(r.headers.get('content-disposition') || '') || [])[1] || 'download';
        return r.blob().then(function (b) {
          var a = document.createElement('a');
          a.href = URL.createObjectURL(b);
          a.download = name;
          document.body.appendChild(a);
          a.click();
          a.remove();
          return fetch(location.pathname + location.search, { credentials: 'same-origin' });
        }).then(function (page) { return page.text(); }).then(function (html) {
          var fresh = new DOMParser().parseFromString(html, 'text/html').querySelector(target);
          var old = document.querySelector(target);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
      })
      .catch(function () { location.reload(); });
  });
})();
`;
