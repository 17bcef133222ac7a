// tools/trace/timeline.js: draws the HTML timeline of a trace (page.py
// inlines it after the data). Time runs downwards in virtual microseconds;
// one column per peer (then clerks, then the tester). Only what is on screen
// is drawn, on one canvas, so a long run stays fast. The failure and the
// first bad moment are DOM elements (#failure-marker, #first-bad-marker).
//
// Data (page.py build_data): str: the string table; rows refer to it.
//   states: [col, t, term, role, commit, applied, log_len]   (full state after each change)
//   shades: [col, t0, t1, kind, label]
//   rpcs:   [from, to, method, t_send, t_deliver, t_reply, t_lost, why, held_ms, args, reply, heartbeat]
//   ev:     [col, t, type, topic, text, task]   type: 0 log, 1 tester, 2 apply, 3 start, 4 violation
//   ops:    [col, t_call, t_return, text]
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('data').textContent);
  const S = D.str;
  const GUTTER = 64, BAND = 14, LINE = 13, FONT = '11px monospace';
  const ROLE_COLOURS = { leader: '#3a9d3a', candidate: '#f0a030', follower: '#9fc3e6', dead: '#888' };
  const SHADE_COLOURS = { crashed: 'rgba(90,90,90,0.28)', disconnected: 'rgba(220,60,60,0.16)',
                          partition: 'rgba(240,170,40,0.18)' };
  const METHOD_COLOURS = { AE: '#2a62c9', RV: '#d2691e', IS: '#8a2be2' };
  const TOPIC_COLOURS = { VOTE: '#c05000', LEAD: '#2a8a2a', LOG: '#1d4fa8', COMMIT: '#7a2aa0',
    PERSIST: '#8a6a00', SNAP: '#a0306a', TIMER: '#777', APPLY: '#006d6d', TERM: '#b02020' };
  const EV_LOG = 0, EV_TESTER = 1, EV_APPLY = 2, EV_START = 3, EV_VIOLATION = 4, EV_STATE = 5;

  function methodColour(m) { return METHOD_COLOURS[m] || topicColour(m); }
  function topicColour(topic) {
    if (TOPIC_COLOURS[topic]) return TOPIC_COLOURS[topic];
    let h = 0;
    for (let i = 0; i < topic.length; i++) h = (h * 31 + topic.charCodeAt(i)) % 360;
    return 'hsl(' + h + ',60%,35%)';
  }
  function fmtTime(us) { return (us / 1e6).toFixed(3) + 's'; }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- The page's frame: title, failure, controls, filters, column headers.
  const top = el('div', { id: 'top' });
  top.appendChild(el('h1', {}, D.title));
  if (D.run.replay) top.appendChild(el('span', { class: 'replay' }, 'replay: ' + D.run.replay));
  if (D.failure) {
    top.appendChild(el('div', { id: 'failure-text' },
      'Failed at ' + fmtTime(D.failure.t) + ': ' + D.failure.text + ' (' + D.failure.where + ')'));
  }
  if (D.first_bad) {
    top.appendChild(el('div', { id: 'first-bad-text' },
      'First bad moment at ' + fmtTime(D.first_bad.t) + ': ' + D.first_bad.what));
  }
  const controls = el('div');
  const buttons = [['zoom in', () => zoom(2)], ['zoom out', () => zoom(0.5)],
    ['whole run', () => fitAll()], ['start', () => goTo(0, 0)]];
  if (D.first_bad) buttons.push(['first bad moment', () => goTo(D.first_bad.t, 0.6)]);
  if (D.failure) buttons.push(['failure', () => goTo(D.failure.t, 0.66)]);
  for (const [label, fn] of buttons) {
    const b = el('button', {}, label);
    b.addEventListener('click', fn);
    controls.appendChild(b);
  }
  const clock = el('span', { class: 'note' });
  controls.appendChild(clock);
  const notes = [];
  if (D.omitted && Object.keys(D.omitted).length) {
    notes.push('To keep the page small, left out far from the focus: ' +
      Object.entries(D.omitted).map(([k, v]) => v + ' ' + k).join(', ') +
      (D.complete ? ' (complete from ' + fmtTime(D.complete[0]) + ' to ' + fmtTime(D.complete[1]) + ')' : '') +
      '. The terminal view (--columns) shows everything.');
  }
  for (const w of D.warnings) notes.push(w);
  notes.push('Ctrl+wheel zooms; hover for details. Shading: grey crashed, red disconnected, ' +
             'amber minority side of a partition.');
  top.appendChild(controls);
  for (const n of notes) top.appendChild(el('div', { class: 'note' }, n));

  // Filters: topics (log topics, RPC methods, heartbeats, tester events,
  // applies) and columns.
  const topics = new Set();
  for (const e of D.ev) if (e[2] === EV_LOG) topics.add(S[e[3]]);
  const methods = new Set(D.rpcs.map(r => S[r[2]]));
  const show = { topic: {}, method: {}, heartbeats: true, replies: true, tester: true, apply: true, col: {} };
  const filters = el('div', { id: 'filters' });
  function checkbox(group, label, colour, get, set) {
    const l = el('label');
    const c = el('input', { type: 'checkbox', 'data-filter': label });
    c.checked = get();
    c.addEventListener('change', () => { set(c.checked); layout(); draw(); });
    l.appendChild(c);
    if (colour) { const sw = el('span', { class: 'swatch' }); sw.style.background = colour; l.appendChild(sw); }
    l.appendChild(document.createTextNode(label));
    group.appendChild(l);
  }
  const gTopics = el('span', { class: 'group' }, 'topics: ');
  for (const t of [...topics].sort()) {
    show.topic[t] = true;
    checkbox(gTopics, t, topicColour(t), () => show.topic[t], v => { show.topic[t] = v; });
  }
  for (const m of [...methods].sort()) {
    show.method[m] = true;
    checkbox(gTopics, 'RPC ' + m, methodColour(m), () => show.method[m], v => { show.method[m] = v; });
  }
  checkbox(gTopics, 'heartbeats', null, () => show.heartbeats, v => { show.heartbeats = v; });
  checkbox(gTopics, 'replies', null, () => show.replies, v => { show.replies = v; });
  checkbox(gTopics, 'apply', TOPIC_COLOURS.APPLY, () => show.apply, v => { show.apply = v; });
  checkbox(gTopics, 'tester', '#555', () => show.tester, v => { show.tester = v; });
  const gCols = el('span', { class: 'group' }, 'columns: ');
  D.cols.forEach((name, i) => {
    show.col[i] = true;
    checkbox(gCols, name, null, () => show.col[i], v => { show.col[i] = v; });
  });
  filters.appendChild(gTopics);
  filters.appendChild(gCols);
  top.appendChild(filters);
  top.appendChild(el('pre', { id: 'errors' }, (window.pageErrors || []).join('\n')));
  document.body.appendChild(top);

  const header = el('div', { id: 'header' });
  document.body.appendChild(header);
  const scroller = el('div', { id: 'scroller' });
  const spacer = el('div', { id: 'spacer' });
  const canvas = el('canvas', { id: 'canvas' });
  spacer.appendChild(canvas);
  scroller.appendChild(spacer);
  document.body.appendChild(scroller);
  const tip = el('div', { id: 'tip' });
  document.body.appendChild(tip);
  const failureMarker = D.failure ? el('div', { id: 'failure-marker', class: 'marker' }) : null;
  // Short labels (the messages are in full at the top): lines of the same
  // instant sit right under them.
  if (failureMarker) { failureMarker.appendChild(el('span', { title: D.failure.text }, 'FAILED')); spacer.appendChild(failureMarker); }
  const badMarker = D.first_bad ? el('div', { id: 'first-bad-marker', class: 'marker' }) : null;
  if (badMarker) { badMarker.appendChild(el('span', { title: D.first_bad.what }, 'first bad moment')); spacer.appendChild(badMarker); }

  // --- Geometry.
  let scale = 0.008;           // pixels per microsecond (8 px per ms)
  const PAD = 40;              // pixels above time 0 and below the end
  let colX = [], colW = 0;     // left edge of each shown column; width
  // In sim many events share one virtual instant. Time is linear except
  // that each instant holding several lines in one column gets room for
  // them all: gT are those instants, gPre[i] the pixels added before gT[i].
  let gT = [], gPre = [0];
  function extraBefore(t) {
    let lo = 0, hi = gT.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (gT[mid] < t) lo = mid + 1; else hi = mid; }
    return gPre[lo];
  }
  function yOf(t) { return PAD + t * scale + extraBefore(t); }
  function tOf(y) {
    if (y <= PAD) return (y - PAD) / scale;
    const yEnd = yOf(D.t_end);
    if (y >= yEnd) return D.t_end + (y - yEnd) / scale;
    let lo = 0, hi = D.t_end;
    for (let k = 0; k < 60 && hi - lo > 0.5; k++) {
      const mid = (lo + hi) / 2;
      if (yOf(mid) <= y) lo = mid; else hi = mid;
    }
    return lo;
  }
  function visible(e) {
    const type = e[2];
    if (type === EV_LOG) return show.topic[S[e[3]]];
    if (type === EV_APPLY) return show.apply;
    if (type === EV_TESTER || type === EV_START) return show.tester;
    return true;
  }
  // Zoomed out further than this (0.1 px per ms), instants get no room of
  // their own: the whole run must fit in a window, and lines hide anyway.
  const EXPAND_MIN = 1e-4;
  function groupInstants() {
    const most = new Map();
    gT = [];
    gPre = [0];
    if (scale < EXPAND_MIN) return;
    for (const c in evByCol) {
      if (!show.col[c]) continue;
      let run = 0, last = null;
      for (const e of evByCol[c]) {
        if (!visible(e)) continue;
        run = e[1] === last ? run + 1 : 1;
        last = e[1];
        if (run > 1 && run > (most.get(last) || 1)) most.set(last, run);
      }
    }
    gT = [...most.keys()].sort((a, b) => a - b);
    gPre = [0];
    for (const t of gT) gPre.push(gPre[gPre.length - 1] + (most.get(t) - 1) * LINE);
  }

  function layout() {
    groupInstants();
    const shown = D.cols.map((_, i) => i).filter(i => show.col[i]);
    const width = Math.max(scroller.clientWidth, 300);
    colW = Math.max(60, (width - GUTTER) / Math.max(shown.length, 1));
    colX = D.cols.map(() => null);
    shown.forEach((c, k) => { colX[c] = GUTTER + k * colW; });
    header.textContent = '';
    const g = el('div', { class: 'gutter' });
    g.style.width = GUTTER + 'px';
    header.appendChild(g);
    for (const c of shown) {
      const kind = c < D.npeers ? 'peer' : (c < D.npeers + D.nclients ? 'client' : 'tester');
      header.appendChild(el('div', { class: 'col ' + kind, 'data-col': D.cols[c] },
        kind === 'peer' ? 'peer ' + D.cols[c] : D.cols[c]));
    }
    spacer.style.height = (yOf(D.t_end) + PAD) + 'px';
    spacer.style.width = (GUTTER + shown.length * colW) + 'px';
    if (failureMarker) failureMarker.style.top = yOf(D.failure.t) + 'px';
    if (badMarker) badMarker.style.top = yOf(D.first_bad.t) + 'px';
  }

  // Rows sorted by time: the first index with time >= t.
  function lowerBound(rows, key, t) {
    let lo = 0, hi = rows.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (rows[mid][key] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  const statesByCol = {};
  for (const s of D.states) (statesByCol[s[0]] = statesByCol[s[0]] || []).push(s);
  const evByCol = {};
  for (const e of D.ev) (evByCol[e[0]] = evByCol[e[0]] || []).push(e);
  // A peer's state changes are lines in its column too (term, role, log
  // length, commit, applied), so they never overlap its log lines.
  for (const c in statesByCol) {
    let last = '';
    for (const s of statesByCol[c]) {
      const role = D.roles[s[3]] || '?';
      const text = 'T' + s[2] + ' ' + role + (s[6] >= 0 ? ' log=' + s[6] : '') +
                   (s[4] >= 0 ? ' commit=' + s[4] : '') + (s[5] >= 0 ? ' applied=' + s[5] : '');
      if (text !== last) (evByCol[c] = evByCol[c] || []).push([+c, s[1], EV_STATE, -1, -1, -1, text]);
      last = text;
    }
    evByCol[c].sort((a, b) => a[1] - b[1]);
  }
  // Longest an RPC spans, so a draw finds the arrows that began above the view.
  let maxSpan = 0;
  for (const r of D.rpcs) maxSpan = Math.max(maxSpan, Math.max(r[4], r[5], r[6]) - r[3]);

  let hits = [];   // what the mouse can point at: {x0, y0, x1, y1, text} boxes or segments
  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = scroller.clientWidth, h = scroller.clientHeight;
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, -scroller.scrollLeft * dpr, 0);
    const y0 = scroller.scrollTop;
    // 1 us of margin: tOf lands within 0.5 us of an instant whose lines fill the view edge.
    const ta = tOf(y0) - 1, tb = tOf(y0 + h) + 1;
    const Y = t => yOf(t) - y0;
    hits = [];
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    clock.textContent = '  showing ' + fmtTime(Math.max(0, ta)) + ' to ' + fmtTime(Math.max(0, tb));

    // Column separators and shaded stretches.
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, GUTTER + D.cols.length * colW, h);
    for (const s of D.shades) {
      const x = colX[s[0]];
      if (x === null || s[2] < ta || s[1] > tb) continue;
      ctx.fillStyle = SHADE_COLOURS[S[s[3]]] || 'rgba(0,0,0,0.1)';
      ctx.fillRect(x, Y(s[1]), colW, Y(s[2]) - Y(s[1]));
      hits.push({ x0: x, y0: Y(s[1]), x1: x + colW, y1: Y(s[2]), text: S[s[4]] + ' from ' + fmtTime(s[1]) + ' to ' + fmtTime(s[2]), weak: true });
    }
    ctx.strokeStyle = '#ccc';
    ctx.lineWidth = 1;
    for (const x of colX) {
      if (x === null) continue;
      ctx.beginPath(); ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, h); ctx.stroke();
    }

    // Time axis.
    const stepChoices = [1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 3e7, 6e7];
    const step = stepChoices.find(s => s * scale >= 60) || 6e7;
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#eee';
    for (let t = Math.max(0, Math.floor(ta / step) * step); t <= tb; t += step) {
      const y = Y(t);
      ctx.fillText(fmtTime(t), 4, y);
      ctx.beginPath(); ctx.moveTo(GUTTER, y + 0.5); ctx.lineTo(GUTTER + D.cols.length * colW, y + 0.5); ctx.stroke();
    }

    // Role and term bands (labels: the EV_STATE lines below).
    for (const c in statesByCol) {
      const x = colX[c];
      if (x === null || x === undefined) continue;
      const rows = statesByCol[c];
      let i = Math.max(0, lowerBound(rows, 1, ta) - 1);
      for (; i < rows.length && rows[i][1] <= tb; i++) {
        const s = rows[i], tEnd = i + 1 < rows.length ? rows[i + 1][1] : D.t_end;
        const role = D.roles[s[3]] || 'follower';
        const ya = Y(s[1]), yb = Y(tEnd);
        ctx.fillStyle = ROLE_COLOURS[role];
        ctx.fillRect(x + 1, ya, BAND, Math.max(yb - ya, 1));
        const known = (name, v) => (v >= 0 ? ', ' + name + ' ' + v : '');
        const text = 'term ' + s[2] + ', ' + role + known('log', s[6]) + known('commit', s[4]) +
          known('applied', s[5]) + ' (from ' + fmtTime(s[1]) + ')';
        hits.push({ x0: x, y0: ya, x1: x + BAND + 1, y1: yb, text: 'peer ' + D.cols[c] + ': ' + text });
      }
    }

    // RPC arrows: request from sender to receiver, reply back (dashed);
    // a loss ends in a red cross half way; a held-back reply is purple.
    const mid = c => colX[c] + BAND / 2 + 1;
    function arrow(xa, ya, xb, yb, colour, dashed, lost, width) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.setLineDash(dashed ? [4, 3] : []);
      let ex = xb, ey = yb;
      if (lost) { ex = (xa + xb) / 2; ey = (ya + yb) / 2; }
      ctx.beginPath(); ctx.moveTo(xa, ya); ctx.lineTo(ex, ey); ctx.stroke();
      ctx.setLineDash([]);
      if (lost) {
        ctx.strokeStyle = '#d00';
        ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(ex - 4, ey - 4); ctx.lineTo(ex + 4, ey + 4);
        ctx.moveTo(ex + 4, ey - 4); ctx.lineTo(ex - 4, ey + 4); ctx.stroke();
      } else {
        const a = Math.atan2(yb - ya, xb - xa);
        ctx.fillStyle = colour;
        ctx.beginPath(); ctx.moveTo(xb, yb);
        ctx.lineTo(xb - 7 * Math.cos(a - 0.4), yb - 7 * Math.sin(a - 0.4));
        ctx.lineTo(xb - 7 * Math.cos(a + 0.4), yb - 7 * Math.sin(a + 0.4));
        ctx.fill();
      }
      return [xa, ya, ex, ey];
    }
    for (let i = lowerBound(D.rpcs, 3, ta - maxSpan); i < D.rpcs.length && D.rpcs[i][3] <= tb; i++) {
      const r = D.rpcs[i];
      const [from, to, m, ts, td, tr, tl, why, held, args, reply, hb] = r;
      if (colX[from] === null || colX[to] === null || !show.method[S[m]] || (hb && !show.heartbeats)) continue;
      if (Math.max(ts, td, tr, tl) < ta) continue;
      const colour = methodColour(S[m]);
      const alpha = hb ? 0.35 : 0.9;
      ctx.globalAlpha = alpha;
      const label = S[m] + ' ' + D.cols[from] + '→' + D.cols[to] + ' ' + S[args] + ' at ' + fmtTime(ts);
      const reqEnd = td >= 0 ? td : (tl >= 0 ? tl : ts);
      const reqLost = td < 0;
      let seg = arrow(mid(from), Y(ts), mid(to), Y(reqEnd), colour, false, reqLost, hb ? 1 : 1.5);
      hits.push({ seg: seg, text: label + (reqLost ? '\nLOST: ' + (S[why] || '?') + ' at ' + fmtTime(tl) : '\ndelivered at ' + fmtTime(td)) });
      if (!reqLost && show.replies) {
        const back = tr >= 0 ? tr : (tl >= 0 ? tl : -1);
        if (back >= 0) {
          const heldBack = held > 0;
          seg = arrow(mid(to), Y(td), mid(from), Y(back), heldBack ? '#a020c0' : colour, true, tr < 0, heldBack ? 2 : 1);
          hits.push({ seg: seg, text: 'reply to ' + label + '\n' + (tr >= 0 ? S[reply] + ' at ' + fmtTime(tr) :
            'LOST: ' + (S[why] || '?') + ' at ' + fmtTime(tl)) });
          if (heldBack && Y(back) - Y(td) > LINE) {
            ctx.globalAlpha = 1;
            ctx.fillStyle = '#a020c0';
            ctx.fillText('held ' + held + ' ms', (mid(to) + mid(from)) / 2 + 4, (Y(td) + Y(back)) / 2);
          }
        }
      }
    }
    ctx.globalAlpha = 1;

    // Point events: log lines, tester actions, applies, in their columns;
    // lines that would overlap the previous one are counted, not drawn: the
    // count shows at the right of the last line drawn (zoom in to see them).
    function moreMark(x, y, n) {
      const text = '+' + n;
      const w = ctx.measureText(text).width + 4;
      ctx.fillStyle = '#eee';
      ctx.fillRect(x + colW - w - 2, y - LINE / 2 + 1, w, LINE - 2);
      ctx.fillStyle = '#666';
      ctx.fillText(text, x + colW - w, y);
    }
    for (const c in evByCol) {
      const x = colX[c];
      if (x === null || x === undefined) continue;
      const rows = evByCol[c];
      const tx = x + BAND + 4;
      const maxChars = Math.floor((colW - BAND - 8) / 6.6);
      let lastY = -1e9, lastT = null, hidden = 0;
      for (let i = lowerBound(rows, 1, ta - LINE / scale); i < rows.length && rows[i][1] <= tb; i++) {
        const e = rows[i];
        const type = e[2], topic = S[e[3]];
        if (!visible(e)) continue;
        let y = Y(e[1]);
        // Lines of one instant stack (layout made room for them); others
        // are pushed down a few lines at most, past that counted as hidden.
        if (y < lastY + LINE) {
          const roomMade = e[1] === lastT && scale >= EXPAND_MIN;
          if (!roomMade && lastY + LINE - y > LINE * 3) { hidden++; continue; }
          y = lastY + LINE;
        }
        if (hidden) { moreMark(x, lastY, hidden); hidden = 0; }
        let text = type === EV_STATE ? e[6] : S[e[4]];
        let colour = '#333';
        if (type === EV_LOG) { colour = topicColour(topic); text = topic + ' ' + text; }
        else if (type === EV_APPLY) colour = TOPIC_COLOURS.APPLY;
        else if (type === EV_VIOLATION) colour = '#d00';
        else if (type === EV_START) colour = '#000';
        else if (type === EV_STATE) colour = '#000';
        if (type === EV_TESTER && (topic === 'partition' || topic === 'net' || topic === 'phase' || topic === 'crash' || topic === 'restart')) {
          ctx.strokeStyle = 'rgba(0,0,0,0.25)';
          ctx.setLineDash([2, 4]);
          ctx.beginPath(); ctx.moveTo(GUTTER, Y(e[1]) + 0.5); ctx.lineTo(x, Y(e[1]) + 0.5); ctx.stroke();
          ctx.setLineDash([]);
        }
        const shown = text.length > maxChars ? text.slice(0, Math.max(maxChars - 1, 1)) + '…' : text;
        ctx.fillStyle = 'rgba(255,255,255,0.8)';  // keeps the line readable over arrows
        ctx.fillRect(tx - 1, y - LINE / 2 + 1, ctx.measureText(shown).width + 2, LINE - 2);
        ctx.fillStyle = colour;
        ctx.fillText(shown, tx, y);
        hits.push({ x0: tx, y0: y - LINE / 2, x1: x + colW, y1: y + LINE / 2,
          text: fmtTime(e[1]) + ' ' + D.cols[c] + (e[5] >= 0 ? ' [' + S[e[5]] + ']' : '') + ' ' +
                (type === EV_LOG ? topic + ' ' : '') + text });
        lastY = y;
        lastT = e[1];
      }
      if (hidden) moreMark(x, lastY, hidden);
    }

    // Clerk operations: a bar from call to return.
    for (const o of D.ops) {
      const x = colX[o[0]];
      const t1 = o[2] >= 0 ? o[2] : D.t_end;
      if (x === null || x === undefined || t1 < ta || o[1] > tb) continue;
      const ya = Y(o[1]), yb = Math.max(Y(t1), ya + 2);
      ctx.fillStyle = o[2] >= 0 ? 'rgba(60,110,200,0.25)' : 'rgba(220,80,40,0.3)';
      ctx.fillRect(x + 4, ya, 8, yb - ya);
      ctx.fillStyle = '#124';
      if (yb - ya >= 3) ctx.fillText(S[o[3]], x + 16, ya + LINE / 2);
      hits.push({ x0: x, y0: ya, x1: x + colW, y1: yb, text: D.cols[o[0]] + ' ' + S[o[3]] + ' from ' + fmtTime(o[1]) +
        (o[2] >= 0 ? ' to ' + fmtTime(o[2]) : ' (no return)') });
    }
  }

  // --- Interaction.
  let pending = false;
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } }
  function goTo(t, frac) {
    // At least two lines above t, so t's first line is not cut by the edge.
    scroller.scrollTop = Math.max(0, yOf(t) - Math.max(scroller.clientHeight * frac, 2 * LINE));
    redraw();
  }
  function zoom(f, anchorY) {
    if (anchorY === undefined) anchorY = scroller.clientHeight / 2;
    const t = tOf(scroller.scrollTop + anchorY);
    scale = Math.min(0.5, Math.max(2e-6, scale * f));
    layout();
    scroller.scrollTop = yOf(t) - anchorY;
    redraw();
  }
  function fitAll() {
    scale = Math.max(2e-6, (scroller.clientHeight - 2 * PAD) / Math.max(D.t_end, 1));
    if (scale >= EXPAND_MIN) scale = EXPAND_MIN * 0.99;  // a short run: no room for instants either
    layout();
    scroller.scrollTop = 0;
    redraw();
  }
  scroller.addEventListener('scroll', redraw);
  window.addEventListener('resize', () => { layout(); redraw(); });
  scroller.addEventListener('wheel', e => {
    if (!e.ctrlKey) return;
    e.preventDefault();
    const rect = scroller.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientY - rect.top);
  }, { passive: false });
  function segDist(px, py, s) {
    const [xa, ya, xb, yb] = s;
    const dx = xb - xa, dy = yb - ya;
    const k = Math.max(0, Math.min(1, ((px - xa) * dx + (py - ya) * dy) / (dx * dx + dy * dy || 1)));
    return Math.hypot(px - xa - k * dx, py - ya - k * dy);
  }
  canvas.addEventListener('mousemove', e => {
    const rect = canvas.getBoundingClientRect();
    const px = e.clientX - rect.left + scroller.scrollLeft, py = e.clientY - rect.top;
    let found = null;
    for (let i = hits.length - 1; i >= 0; i--) {
      const h = hits[i];
      const inside = h.seg ? segDist(px, py, h.seg) <= 4 : (px >= h.x0 && px <= h.x1 && py >= h.y0 && py <= h.y1);
      if (inside && (!found || (found.weak && !h.weak))) { found = h; if (!h.weak) break; }
    }
    if (!found) { tip.style.display = 'none'; return; }
    tip.textContent = found.text;
    tip.style.display = 'block';
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 580) + 'px';
    tip.style.top = (e.clientY + 12) + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });

  // Open at the first bad moment if it came before the failure, else at the
  // failure; the body records where (for the tests and for scripts).
  layout();
  // Without either, a page that had to leave things out opens where it is
  // complete. An address ending in #t=12.5 opens at 12.5 s; #whole shows
  // the whole run. The focus sits low in the view: what led to it is
  // usually above.
  let opened = D.focus ? D.focus.t : (D.complete ? D.complete[0] : 0);
  const hash = /^#t=([0-9.]+)$/.exec(location.hash);
  if (hash) opened = Math.round(parseFloat(hash[1]) * 1e6);
  if (location.hash === '#whole') { fitAll(); opened = 0; }
  else if (D.focus || hash) goTo(opened, 0.6);
  else goTo(opened, 0);
  draw();
  document.body.setAttribute('data-opened-at', String(opened));
  document.body.setAttribute('data-render-ms', String(Math.round(performance.now())));
  document.body.setAttribute('data-ready', '1');
})();
