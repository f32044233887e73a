// Drawing a no-report zone on the camera's frame (labels page): drag over the frame and the
// zone form's x1/y1/x2/y2 fields take the box in frame pixels; "Add zone" saves it. Without
// script the fields are typed by hand, so the form stays the one way a zone is sent.
(function () {
  var svg = document.querySelector("svg.zone-view");
  var form = document.getElementById("zone-box");
  if (!svg || !form || !svg.viewBox) return;
  var NS = "http://www.w3.org/2000/svg";
  var MIN = 3;  // frame pixels: smaller is a click, not a zone
  var start = null, drawn = null;

  function point(ev) {
    var r = svg.getBoundingClientRect(), v = svg.viewBox.baseVal;
    var x = (ev.clientX - r.left) * v.width / r.width, y = (ev.clientY - r.top) * v.height / r.height;
    return {x: Math.round(Math.max(0, Math.min(v.width, x))), y: Math.round(Math.max(0, Math.min(v.height, y)))};
  }
  function box(a, b) {
    return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
  }
  function show(b) {
    if (!drawn) {
      drawn = document.createElementNS(NS, "rect");
      drawn.setAttribute("class", "drawn");
      svg.appendChild(drawn);
    }
    drawn.setAttribute("x", b[0]); drawn.setAttribute("y", b[1]);
    drawn.setAttribute("width", b[2] - b[0]); drawn.setAttribute("height", b[3] - b[1]);
  }
  svg.addEventListener("pointerdown", function (ev) {
    start = point(ev);
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  svg.addEventListener("pointermove", function (ev) {
    if (start) show(box(start, point(ev)));
  });
  svg.addEventListener("pointerup", function (ev) {
    if (!start) return;
    var b = box(start, point(ev));
    start = null;
    if (b[2] - b[0] < MIN || b[3] - b[1] < MIN) return;
    show(b);
    ["x1", "y1", "x2", "y2"].forEach(function (f, i) { form.querySelector("#zone-" + f).value = b[i]; });
    form.querySelector("button").focus();
  });
})();
