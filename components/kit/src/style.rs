//! The base style each component puts in its own shadow root (styles do not cross shadow
//! boundaries, so the shell's page style never leaks in and a component's never leaks out).

/// Typography, tables, buttons and forms shared by the components' look. Each component is a
/// size container: in a narrow slot (a phone, or a side column) a table's rows reflow into
/// wrapped lines with the row's action last, so no action hides behind a sideways scroll.
pub const BASE_CSS: &str = r#"
:host { display: block; font: 15px/1.45 system-ui, sans-serif; color: #1d2733; }
h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e3e7ee; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: #5b6776; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
button { font: inherit; padding: .3rem .75rem; border-radius: 6px; border: 1px solid #2456c9;
  background: #2f6fed; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #2456c9; }
button[disabled] { opacity: .5; cursor: not-allowed; }
button:focus-visible, input:focus-visible { outline: 3px solid #f5b700; outline-offset: 1px; }
label { display: block; font-size: .85rem; margin: .4rem 0 .15rem; color: #3b4654; }
input { font: inherit; padding: .3rem .45rem; border: 1px solid #b8c1cd; border-radius: 6px; width: 100%; box-sizing: border-box; }
.muted { color: #6b7684; }
.badge { display: inline-block; font-size: .75rem; padding: .05rem .4rem; border-radius: 999px; background: #eef1f6; }
.badge.warn { background: #fff0c2; color: #7a5200; }
.badge.ok { background: #dcf5e3; color: #17602f; }
.badge.off { background: #f7dede; color: #8a1c1c; }
.error { color: #8a1c1c; background: #fdf0f0; border: 1px solid #f2c4c4; padding: .5rem .7rem; border-radius: 6px; }
.row-actions { white-space: nowrap; }
.pager { display: flex; gap: .5rem; align-items: center; margin-top: .6rem; }
:host { container-type: inline-size; }
@container (max-width: 600px) {
  table, tbody, tr, td { display: block; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  tr { display: flex; flex-wrap: wrap; align-items: center; gap: .2rem .8rem; padding: .45rem 0; border-bottom: 1px solid #e3e7ee; }
  td { border: 0; padding: 0; }
  td.row-actions { margin-left: auto; }
}
"#;
