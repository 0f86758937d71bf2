"""One self-contained HTML page of :class:`~deconvkit.explain.frames.Frame` sections.

:func:`page` turns sections (a title, words, and frames) into one HTML file: no
network, no external scripts, fonts or style sheets, no matplotlib. Every frame is
written as HTML tables of numbers (selectable text, readable by a screen reader and
searchable), so the page is complete without JavaScript: each section is a static
sequence of its steps. With JavaScript, a section of several steps becomes a
keyboard-steppable animation (←/→, Home/End, or the buttons).

Test hooks: after its script has run the page's ``<body>`` has ``data-ready="1"`` and
every stepped section ``data-step`` (0-based); the URL hash ``#step=3`` shows step 3
of every section, ``#scatter=2`` step 2 of the section with key ``scatter``, and
``#keys=ArrowRight,End`` sends those keys to every stepped section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import numpy as np

from .render import fmt_number

__all__ = ["Section", "page", "table", "frame_html", "MAX_PAGE_CELLS"]

MAX_PAGE_CELLS = 150_000
"""Most table cells in one page (about 3.5 MB of HTML)."""

# YlOrRd, as the PNG's heat maps (matplotlib), sampled at nine points
_HEAT = ((255, 255, 204), (255, 237, 160), (254, 217, 118), (254, 178, 76), (253, 141, 60),
         (252, 78, 42), (227, 26, 28), (189, 0, 38), (128, 0, 38))


@dataclass(frozen=True)
class Section:
    """One part of a page: a heading, words, and its frames (one step each).

    Attributes
    ----------
    title : str
        Heading of the section.
    frames : tuple of Frame
        Its steps; with more than one, the page steps through them.
    text : str
        What the section shows, in words (plain text; blank lines separate paragraphs).
    key : str
        The section's id (letters, digits, ``-``); default: from the title.
    notes : tuple of str
        Lines shown after the frames (e.g. verdicts), plain text.
    """

    title: str
    frames: tuple = field(default_factory=tuple)
    text: str = ""
    key: str = ""
    notes: tuple = ()

    @property
    def id(self) -> str:
        return self.key or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


def _heat(v, top) -> str:
    x = 0.05 + 0.55 * (v / top if top > 0 else 0.0)
    x = min(max(x, 0.0), 1.0) * (len(_HEAT) - 1)
    i = min(int(x), len(_HEAT) - 2)
    f = x - i
    rgb = (round(a + (b - a) * f) for a, b in zip(_HEAT[i], _HEAT[i + 1]))
    return "#%02x%02x%02x" % tuple(rgb)


def _outline_classes(outline, r, c) -> str:
    if outline is None:
        return ""
    r0, c0, r1, c1 = outline
    if not (r0 <= r < r1 and c0 <= c < c1):
        return ""
    sides = (("ot", r == r0), ("ob", r == r1 - 1), ("ol", c == c0), ("or", c == c1 - 1))
    return " ".join(name for name, on in sides if on)


def table(panel) -> str:
    """A grid panel as an HTML ``<table>``: one cell per value, classes ``h`` (highlight),
    ``m`` (mark), ``e`` (empty), ``z`` (a matrix zero, shown as a dot), ``o*`` (outline)."""
    values = np.asarray(panel.values, dtype=np.float64)
    values = values[None, :] if values.ndim == 1 else values
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 1.0
    highlight, marks = set(map(tuple, panel.highlight)), set(map(tuple, panel.marks))
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
            classes = [_outline_classes(panel.outline, r, c)]
            style = ""
            if np.isnan(v):
                classes.append("e")
                text = ""
            elif panel.kind == "matrix" and v == 0:
                classes.append("z")
                text = "·"
            else:
                text = fmt_number(round(float(v), 3))
            if (r, c) in marks:
                classes.append("m")
            if (r, c) in highlight:
                classes.append("h")
            if panel.kind == "map" and not np.isnan(v):
                style = f' style="background:{_heat(float(v), top)}"'
            cls = " ".join(name for name in classes if name)
            cls = f' class="{cls}"' if cls else ""
            cells.append(f"<td{cls}{style}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="g {panel.kind}">' + "".join(rows) + "</table>"


def _panel_html(panel) -> str:
    name = escape(panel.name).replace("\n", "<br>")
    if panel.kind == "text":
        body = "<pre>" + escape("\n".join(panel.lines)) + "</pre>"
    else:
        body = table(panel)
    return (f'<div class="panel" data-kind="{panel.kind}"><div class="pn">{name}</div>'
            f"{body}</div>")


def frame_html(frame, key: str, count: int) -> str:
    """One frame as a ``<figure>`` with id ``KEY-STEP``: title, caption, panels."""
    step = f"step {frame.step + 1} of {count}: " if count > 1 else ""
    return (f'<figure class="frame" id="{key}-{frame.step}" data-step="{frame.step}">'
            f"<figcaption><b>{escape(step + frame.title)}</b><br>{escape(frame.caption)}"
            f'</figcaption><div class="panels">'
            + "".join(_panel_html(p) for p in frame.panels) + "</div></figure>")


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def _controls(section, count) -> str:
    label = escape(section.title)
    return (f'<div class="controls" hidden>'
            f'<button type="button" data-go="-1" aria-label="previous step of {label}">'
            f"&#8592; previous</button>"
            f'<button type="button" data-go="1" aria-label="next step of {label}">'
            f"next &#8594;</button>"
            f'<button type="button" data-play aria-label="play {label}">play</button>'
            f'<output aria-live="polite">step 1 of {count}</output>'
            f'<span class="hint">focus here and use &#8592; / &#8594;, Home, End</span></div>')


def _section_html(section) -> str:
    key = escape(section.id)
    count = len(section.frames)
    stepped = count > 1
    head = (f'<section id="{key}" class="view{" stepped" if stepped else ""}"'
            + (f' tabindex="0" role="group" aria-roledescription="step-by-step view" '
               f'aria-label="{escape(section.title)}: {count} steps"' if stepped else "")
            + f"><h2>{escape(section.title)}</h2>{_paragraphs(section.text)}")
    controls = _controls(section, count) if stepped else ""
    frames = "".join(frame_html(f, key, count) for f in section.frames)
    notes = "".join(f"<li>{escape(n)}</li>" for n in section.notes)
    return (head + controls + f'<div class="frames">{frames}</div>'
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</section>")


def _cells(sections) -> int:
    return sum(p.values.size for s in sections for f in s.frames for p in f.panels
               if p.values is not None)


def page(title: str, sections, *, intro: str = "") -> str:
    """A self-contained HTML page of ``sections``.

    Parameters
    ----------
    title : str
        The page's ``<title>`` and heading.
    sections : sequence of Section
        Each with its frames (:class:`~deconvkit.explain.frames.Frame`), drawn as tables;
        a section of several frames is a steppable view.
    intro : str
        Words under the heading (plain text; blank lines separate paragraphs).

    Returns
    -------
    html : str
        UTF-8 HTML with its style and script inline; nothing is loaded from elsewhere.

    Raises
    ------
    ValueError
        When the frames hold more than :data:`MAX_PAGE_CELLS` table cells, or two
        sections share an id.

    Examples
    --------
    >>> from deconvkit.explain.frames import Frame, Panel
    >>> f = Frame("demo", 0, "Two numbers", "a caption", (Panel("x", np.array([[1., 2.]])),))
    >>> html = page("Demo", [Section("Demo view", (f,), "What it shows.")])
    >>> "<td>2</td>" in html and html.startswith("<!DOCTYPE html>")
    True
    """
    sections = list(sections)
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"section ids must differ, got {ids}")
    cells = _cells(sections)
    if cells > MAX_PAGE_CELLS:
        raise ValueError(f"the page would hold {cells:,} table cells, more than "
                         f"{MAX_PAGE_CELLS:,} (MAX_PAGE_CELLS); choose fewer views (--view) or "
                         "a smaller --input")
    nav = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a>'
                  + (f" ({len(s.frames)} steps)" if len(s.frames) > 1 else "") + "</li>"
                  for s in sections)
    body = "".join(_section_html(s) for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{escape(title)}</h1>{_paragraphs(intro)}"
            f'<nav aria-label="views"><ul>{nav}</ul></nav></header><main>{body}</main>'
            f"<script>{SCRIPT}</script></body></html>\n")


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;
max-width:80em;padding:0 1em;color:#1a1a1a;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .3em;
border-bottom:1px solid #ddd}
.view p{max-width:52em;margin:.3em 0}
.frame{margin:1em 0;padding:.6em;border:1px solid #e4e4e4;border-radius:4px}
figcaption{margin-bottom:.5em}
.panels{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
.pn{font-size:.85em;color:#444;margin-bottom:.2em}
table.g{border-collapse:collapse;font:12px/1 ui-monospace,Menlo,Consolas,monospace}
table.g td{border:1px solid #9a9a9a;min-width:2.1em;height:1.9em;text-align:center;
padding:0 .2em;background:#fff}
table.matrix td,table.vector td{min-width:1.3em;height:1.3em;font-size:10px}
table.g td.e{background:#f4f4f4}table.g td.z{color:#999}table.g td.m{background:#d0d0d0}
table.g td.h{background:#ffb347;font-weight:bold}
table.g td.ot{border-top:3px solid #1f4e9e}table.g td.ob{border-bottom:3px solid #1f4e9e}
table.g td.ol{border-left:3px solid #1f4e9e}table.g td.or{border-right:3px solid #1f4e9e}
pre{font-size:12px;margin:0;white-space:pre-wrap}
.controls{display:flex;gap:.6em;align-items:center;margin:.5em 0}
.controls button{font:inherit;padding:.2em .8em}
.hint{color:#666;font-size:.85em}
.stepped:focus,.controls button:focus{outline:3px solid #1f4e9e;outline-offset:2px}
.js .stepped .frame{display:none}.js .stepped .frame.current{display:block}
.notes{font-size:.95em}
"""

SCRIPT = r"""
(function(){
"use strict";
document.documentElement.classList.add("js");
var views=[];
function setup(sec){
  var frames=sec.querySelectorAll(".frame"),out=sec.querySelector("output"),
      ctl=sec.querySelector(".controls"),play=sec.querySelector("[data-play]"),timer=null;
  ctl.hidden=false;
  function show(i){
    i=Math.max(0,Math.min(frames.length-1,i));
    for(var j=0;j<frames.length;j++){frames[j].classList.toggle("current",j===i);}
    sec.setAttribute("data-step",String(i));
    out.textContent="step "+(i+1)+" of "+frames.length;
  }
  function cur(){return Number(sec.getAttribute("data-step"));}
  function stop(){if(timer){clearInterval(timer);timer=null;play.textContent="play";}}
  function key(e){
    var k=e.key,n=frames.length;
    if(k==="ArrowRight"||k==="ArrowDown"){show(cur()+1);}
    else if(k==="ArrowLeft"||k==="ArrowUp"){show(cur()-1);}
    else if(k==="Home"){show(0);}else if(k==="End"){show(n-1);}
    else{return;}
    stop();e.preventDefault();
  }
  sec.addEventListener("keydown",key);
  ctl.addEventListener("click",function(e){
    var b=e.target.closest("button");if(!b){return;}
    if(b.hasAttribute("data-play")){
      if(timer){stop();return;}
      play.textContent="pause";
      timer=setInterval(function(){if(cur()>=frames.length-1){stop();}else{show(cur()+1);}},900);
      return;
    }
    stop();show(cur()+Number(b.getAttribute("data-go")));
  });
  show(0);
  views.push({sec:sec,show:show});
}
var secs=document.querySelectorAll("section.stepped");
for(var i=0;i<secs.length;i++){setup(secs[i]);}
function fromHash(){
  var h=decodeURIComponent(location.hash.slice(1));
  if(!h){return;}
  h.split("&").forEach(function(part){
    var kv=part.split("="),name=kv[0],val=kv.slice(1).join("=");
    views.forEach(function(v){
      if(name==="step"||name===v.sec.id){v.show(Number(val)||0);}
      else if(name==="keys"){
        val.split(",").forEach(function(k){
          v.sec.dispatchEvent(new KeyboardEvent("keydown",{key:k,bubbles:true}));
        });
      }
    });
  });
}
fromHash();
window.addEventListener("hashchange",fromHash);
document.body.setAttribute("data-ready","1");
})();
"""
