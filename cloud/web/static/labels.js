// The box editor of the labelling page. The frame is shown as an <img>; an <svg> over it in the
// frame's own pixel coordinates (viewBox) holds one rectangle per bird. With the mouse: drag on
// empty space to draw a box of the chosen class, drag a box to move it, drag a corner of the
// selected box to resize it; the class buttons relabel the selected box; Delete removes it.
// Save sends every box to the labelling API; the frame then belongs to the farm's data set.
(function () {
  var source = document.getElementById("label-data");
  var svg = document.getElementById("boxes");
  if (!source || !svg || !window.fetch) return;
  var data = JSON.parse(source.textContent);
  var NS = "http://www.w3.org/2000/svg";
  var W = data.frame.width, H = data.frame.height;
  var MIN = 3;  // frame pixels: a box drawn smaller is a slip of the mouse
  var boxes = [], selected = -1, drag = null;
  var status = document.getElementById("save-status");
  var inSet = document.getElementById("in-set");

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function toBox(b) { return {cls: b.cls, x1: b.box[0], y1: b.box[1], x2: b.box[2], y2: b.box[3]}; }
  function copy(b) { return {cls: b.cls, x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2}; }
  function load(list) { boxes = list.map(toBox); selected = -1; draw(); }
  function chosen() { return document.querySelector('input[name="cls"]:checked').value; }
  function choose(cls) { document.querySelector('input[name="cls"][value="' + cls + '"]').checked = true; }
  function point(ev) {
    var r = svg.getBoundingClientRect();
    return {x: clamp((ev.clientX - r.left) * W / r.width, 0, W), y: clamp((ev.clientY - r.top) * H / r.height, 0, H)};
  }
  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    return node;
  }
  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var half = 6 * W / Math.max(1, svg.getBoundingClientRect().width);  // 12 screen px handles
    boxes.forEach(function (b, i) {
      var g = el("g", {"class": "box cls-" + b.cls + (i === selected ? " selected" : ""), "data-index": i});
      var x1 = Math.min(b.x1, b.x2), x2 = Math.max(b.x1, b.x2), y1 = Math.min(b.y1, b.y2), y2 = Math.max(b.y1, b.y2);
      var body = el("rect", {"class": "body", "data-part": "move", x: x1, y: y1, width: x2 - x1, height: y2 - y1});
      var title = el("title", {});
      title.textContent = data.text[b.cls] + (b.score ? " " + b.score.toFixed(2) : "");
      body.appendChild(title);
      g.appendChild(body);
      if (i === selected) {
        [["nw", x1, y1], ["ne", x2, y1], ["sw", x1, y2], ["se", x2, y2]].forEach(function (c) {
          g.appendChild(el("rect", {"class": "handle " + c[0], "data-part": c[0], x: c[1] - half, y: c[2] - half,
                                    width: 2 * half, height: 2 * half}));
        });
      }
      svg.appendChild(g);
    });
    var count = document.getElementById("box-count");
    var dead = boxes.filter(function (b) { return b.cls === "dead"; }).length;
    count.textContent = boxes.length + " " + data.text.boxes_count + " (" + data.text.chicken + " " +
      (boxes.length - dead) + ", " + data.text.dead + " " + dead + ")";
    count.setAttribute("data-boxes", JSON.stringify(boxes.map(function (b) { return [b.cls, b.x1, b.y1, b.x2, b.y2]; })));
  }
  function normalise(b) {
    var x1 = Math.min(b.x1, b.x2), x2 = Math.max(b.x1, b.x2), y1 = Math.min(b.y1, b.y2), y2 = Math.max(b.y1, b.y2);
    b.x1 = x1; b.x2 = x2; b.y1 = y1; b.y2 = y2;
  }

  svg.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    var p = point(ev), part = ev.target.getAttribute("data-part");
    if (part) {
      selected = Number(ev.target.parentNode.getAttribute("data-index"));
      choose(boxes[selected].cls);
    } else {
      boxes.push({cls: chosen(), x1: p.x, y1: p.y, x2: p.x, y2: p.y});
      selected = boxes.length - 1;
      part = "se";
    }
    drag = {part: part, start: p, orig: copy(boxes[selected]), created: !ev.target.getAttribute("data-part")};
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
    draw();
  });
  svg.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var p = point(ev), b = boxes[selected], o = drag.orig;
    var dx = p.x - drag.start.x, dy = p.y - drag.start.y;
    if (drag.part === "move") {
      var w = o.x2 - o.x1, h = o.y2 - o.y1;
      b.x1 = clamp(o.x1 + dx, 0, W - w); b.y1 = clamp(o.y1 + dy, 0, H - h);
      b.x2 = b.x1 + w; b.y2 = b.y1 + h;
    } else {
      if (drag.part.indexOf("w") >= 0) b.x1 = clamp(o.x1 + dx, 0, W); else b.x2 = clamp(o.x2 + dx, 0, W);
      if (drag.part.indexOf("n") >= 0) b.y1 = clamp(o.y1 + dy, 0, H); else b.y2 = clamp(o.y2 + dy, 0, H);
    }
    draw();
  });
  function finish() {
    if (!drag) return;
    var b = boxes[selected];
    normalise(b);
    if (b.x2 - b.x1 < MIN || b.y2 - b.y1 < MIN) {
      if (drag.created) { boxes.splice(selected, 1); selected = -1; }
      else { boxes[selected] = drag.orig; }
    }
    drag = null;
    draw();
  }
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", finish);

  document.querySelectorAll('input[name="cls"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (selected >= 0) { boxes[selected].cls = radio.value; draw(); }
    });
  });
  function removeSelected() {
    if (selected < 0) return;
    boxes.splice(selected, 1);
    selected = -1;
    draw();
  }
  document.getElementById("delete-box").addEventListener("click", removeSelected);
  function typesText(node) {  // a class radio keeps the focus after a click; Delete still means the box
    var tag = node.tagName || "";
    return /TEXTAREA|SELECT/.test(tag) || (tag === "INPUT" && !/^(radio|checkbox|button|submit)$/.test(node.type));
  }
  document.addEventListener("keydown", function (ev) {
    if ((ev.key === "Delete" || ev.key === "Backspace") && !typesText(ev.target)) {
      ev.preventDefault();
      removeSelected();
    }
  });
  document.getElementById("reset-boxes").addEventListener("click", function () { load(data.detector); });

  function say(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "error";
  }
  document.getElementById("save").addEventListener("click", function () {
    var body = {boxes: boxes.map(function (b) {
      return {cls: b.cls, box: [b.x1, b.y1, b.x2, b.y2].map(function (v) { return Math.round(v * 10) / 10; })};
    })};
    fetch(data.save, {method: "PUT", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                      body: JSON.stringify(body)})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (saved) {
        say(data.text.saved_boxes + ": " + saved.labels.length + " " + data.text.boxes_count, true);
        inSet.textContent = data.text.labelled_frames;
      })
      .catch(function (code) { say(data.text.save_failed + " (" + code + ")", false); });
  });
  document.getElementById("remove-set").addEventListener("click", function () {
    fetch(data.save, {method: "DELETE", credentials: "same-origin"})
      .then(function (r) {
        if (r.ok || r.status === 404) { inSet.textContent = data.text.not_labelled; say(data.text.not_labelled, true); }
        else { say(data.text.save_failed + " (" + r.status + ")", false); }
      });
  });
  window.addEventListener("resize", draw);
  load(data.labels || data.detector);
})();
