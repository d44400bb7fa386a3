/**
 * The dashboard's stylesheet (`<base>/assets/app.css`): system fonts, one column on a phone,
 * table rows as cards on a phone, and dark colours when the system asks for them.
 * A string constant, as a Worker has no file system.
 */
export const APP_CSS = `
:root {
  --bg: #f7f7f8; --fg: #1b1d21; --muted: #636a75; --card: #ffffff; --line: #e1e3e8;
  --accent: #2f5fd0; --accent-fg: #ffffff; --ok: #1d7a46; --warn: #9a5b00; --bad: #b3261e;
  --ok-bg: #e6f4ec; --warn-bg: #fdf1dc; --bad-bg: #fbe9e7; --code: #f0f1f4;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #131417; --fg: #e7e8ea; --muted: #9aa1ad; --card: #1c1e22; --line: #2d3037;
    --accent: #7fa2ff; --accent-fg: #0d1020; --ok: #6fd39b; --warn: #f0b357; --bad: #ff8a80;
    --ok-bg: #15301f; --warn-bg: #33270f; --bad-bg: #3a1a17; --code: #24272d;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
a { color: var(--accent); }
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .6rem; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
.top {
  display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem;
  padding: .6rem 1rem; background: var(--card); border-bottom: 1px solid var(--line);
}
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
.queue-name { font-weight: 400; color: var(--muted); margin-left: .3rem; }
.nav { display: flex; flex-wrap: wrap; gap: .25rem; flex: 1; }
.nav a { padding: .3rem .6rem; border-radius: 6px; text-decoration: none; color: var(--fg); }
.nav a.current { background: var(--accent); color: var(--accent-fg); }
.logout { display: flex; align-items: center; gap: .6rem; margin: 0; }
.role { font-size: .8rem; color: var(--muted); border: 1px solid var(--line); border-radius: 99px; padding: .05rem .5rem; }
.role-read { color: var(--warn); border-color: var(--warn); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; }
.grid { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .7rem .9rem; }
.stat .label { font-size: .8rem; color: var(--muted); display: block; }
.stat .value { font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .sub { font-size: .8rem; color: var(--muted); display: block; }
.charts { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
.chart svg { width: 100%; height: 48px; display: block; }
.spark-line { fill: none; stroke: var(--accent); stroke-width: 1.5; }
.spark-area { fill: var(--accent); opacity: .12; stroke: none; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { color: var(--bad); max-width: 28rem; overflow-wrap: anywhere; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--code); padding: .7rem; border-radius: 8px; overflow: auto; max-height: 28rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; overflow-wrap: anywhere; }
.state { font-size: .8rem; padding: .05rem .45rem; border-radius: 99px; background: var(--code); white-space: nowrap; }
.state-succeeded { background: var(--ok-bg); color: var(--ok); }
.state-dead, .state-failed { background: var(--bad-bg); color: var(--bad); }
.state-delayed, .state-active { background: var(--warn-bg); color: var(--warn); }
.flash { padding: .6rem .8rem; border-radius: 8px; margin: 0 0 1rem; background: var(--ok-bg); color: var(--ok); }
.flash-error, .warning { background: var(--bad-bg); color: var(--bad); }
.warning { padding: .6rem .8rem; border-radius: 8px; margin: 0 0 1rem; font-weight: 600; }
form { margin: 0; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: flex-end; margin-bottom: 1rem; }
.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); gap: .2rem; }
input, select, button { font: inherit; }
input, select {
  padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px;
  background: var(--card); color: var(--fg); min-width: 0;
}
button, .button {
  padding: .4rem .8rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-fg); cursor: pointer; text-decoration: none; display: inline-block;
}
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button.small { padding: .15rem .5rem; font-size: .85rem; }
button.link { background: none; border: none; color: var(--accent); padding: 0; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .75rem 0; }
.row-actions { display: flex; gap: .35rem; flex-wrap: wrap; }
/* In a table row the buttons (one form each) stand side by side. */
td.row-actions { display: table-cell; white-space: nowrap; }
td.row-actions form { display: inline-block; margin-right: .35rem; }
.form-only { display: none; }
.pager { display: flex; gap: 1rem; align-items: center; margin: .75rem 0; color: var(--muted); }
.tabs { display: flex; gap: .25rem; margin-bottom: 1rem; flex-wrap: wrap; }
.tabs a { padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 99px; text-decoration: none; }
.tabs a.current { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
.muted, .hint { color: var(--muted); font-size: .85rem; }
.slots svg { width: 120px; height: 10px; display: block; }
.slot-free { fill: var(--line); } .slot-busy { fill: var(--accent); } .slot-prefetched { fill: var(--warn); }
.login { max-width: 380px; margin: 12vh auto; }
.login-form { display: flex; flex-direction: column; gap: .6rem; }
@media (max-width: 640px) {
  main { padding: .75rem; }
  .top { padding: .5rem .75rem; }
  /* Two rows: brand, role and log-out; then the links, scrolling sideways if they must. */
  .nav { order: 3; flex: 1 0 100%; flex-wrap: nowrap; overflow-x: auto; }
  .nav a { white-space: nowrap; }
  .logout { margin-left: auto; }
  .stat .value { font-size: 1.3rem; }
  dl.fields { grid-template-columns: 1fr; }
  dl.fields dd { margin-bottom: .4rem; }
  .hide-narrow { display: none; }
  /* Tables become one card per row. */
  .table-wrap { overflow: visible; background: none; border: none; }
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td { display: block; width: auto; }
  .table-wrap thead { display: none; }
  .table-wrap tr {
    background: var(--card); border: 1px solid var(--line); border-radius: 10px;
    margin-bottom: .6rem; padding: .4rem 0;
  }
  .table-wrap td { border: none; padding: .2rem .75rem; text-align: left; max-width: none; }
  .table-wrap td[data-label]::before {
    content: attr(data-label) ": "; color: var(--muted); font-size: .8rem;
  }
  .table-wrap td.error[data-label]::before { display: block; }
  .table-wrap td.row-actions { display: flex; padding-top: .4rem; white-space: normal; }
  .table-wrap td.row-actions form { margin-right: 0; }
}
`;
