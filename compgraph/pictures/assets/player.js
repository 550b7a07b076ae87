(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cg-data").textContent);
  var frames = data.frames, nodes = data.nodes;
  var svg = document.querySelector("#cg-graph svg");
  var SVG_NS = "http://www.w3.org/2000/svg";
  var byTitle = new Map();
  function register(key, group) {
    if (!byTitle.has(key)) { byTitle.set(key, []); }
    byTitle.get(key).push(group);
  }
  // A value feeding many ops is drawn once plus a dotted copy per further use, "v3_in7"
  // beside node 7: the copy and its edge "v3_in7->op7" stand for the edge "v3->op7".
  var COPY = /^(v\d+)_in(\d+)$/;
  svg.querySelectorAll("g.node, g.edge").forEach(function (group) {
    var title = group.querySelector("title");
    if (!title) { return; }
    var key = title.textContent.trim();
    var copy = COPY.exec(key);
    if (copy && nodes[Number(copy[2])]) {
      var user = nodes[Number(copy[2])];
      register(copy[1] + "->" + (user.op || user.id), group);
      return;
    }
    register(key.replace(/_in\d+->/, "->"), group);
  });
  function groups(key) { return (key && byTitle.get(key)) || []; }

  // Room under the lowest boxes for their gradient badges; the width scales to fit.
  var box = svg.viewBox.baseVal;
  if (box && box.height) {
    svg.setAttribute("viewBox", [box.x, box.y, box.width, box.height + 16].join(" "));
    svg.style.width = svg.getAttribute("width") || "100%";
    svg.removeAttribute("width");
    svg.removeAttribute("height");
  }
  var layer = svg.querySelector("g.graph") || svg;
  var picture = layer.getBBox();  // the graph's own area, in the coordinates badges use
  picture = { x: picture.x, y: picture.y, width: picture.width, height: picture.height + 16 };

  // A box's values are hidden until the forward pass computes them: its text from the
  // first "value:" line on (the name and shape stay, so the graph can be read first).
  var boxes = [];
  svg.querySelectorAll("g.node").forEach(function (group) {
    var seen = false;
    group.querySelectorAll("text").forEach(function (text) {
      if (/^(value|grad):/.test(text.textContent)) { seen = true; }
      if (seen) { text.classList.add("cg-value"); }
    });
    boxes.push(group.getBBox());
  });

  var badges = new Map();
  function badge(id) {
    if (badges.has(id)) { return badges.get(id); }
    var group = groups(id)[0];
    if (!group) { return null; }
    var g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("class", "cg-badge");
    var rect = document.createElementNS(SVG_NS, "rect");
    var text = document.createElementNS(SVG_NS, "text");
    g.appendChild(rect);
    g.appendChild(text);
    layer.appendChild(g);
    var made = { g: g, rect: rect, text: text, of: group.getBBox() };
    badges.set(id, made);
    return made;
  }
  function overlap(a, b) {
    return Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) *
      Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  }
  function inside(spot) {
    return {
      x: Math.max(picture.x, Math.min(picture.x + picture.width - spot.width, spot.x)),
      y: Math.max(picture.y, Math.min(picture.y + picture.height - spot.height, spot.y)),
      width: spot.width, height: spot.height
    };
  }
  // Under its box if that is free, else above, right or left of it, kept inside the
  // picture: the first spot that covers no box and no badge placed before it.
  function setBadge(made, content, fresh, placed) {
    made.g.style.display = "";
    made.text.textContent = content;
    // The text's box measured where it stands now, as offsets from its anchor point.
    var size = made.text.getBBox();
    var dx = size.x - Number(made.text.getAttribute("x") || 0);
    var dy = size.y - Number(made.text.getAttribute("y") || 0);
    var width = size.width + 6, height = size.height + 2, of = made.of;
    var middle = of.x + of.width / 2 - width / 2;
    var spots = [
      { x: middle, y: of.y + of.height + 1 },
      { x: middle, y: of.y - height - 1 },
      { x: of.x + of.width + 2, y: of.y + of.height / 2 - height / 2 },
      { x: of.x - width - 2, y: of.y + of.height / 2 - height / 2 },
      { x: of.x + of.width - width, y: of.y + of.height + 1 },
      { x: of.x, y: of.y + of.height + 1 }
    ].map(function (spot) {
      return inside({ x: spot.x, y: spot.y, width: width, height: height });
    });
    var best = null, bestCost = Infinity;
    spots.forEach(function (spot) {
      if (bestCost === 0) { return; }
      var cost = 0;
      boxes.concat(placed).forEach(function (other) { cost += overlap(spot, other); });
      if (cost < bestCost) { best = spot; bestCost = cost; }
    });
    made.rect.setAttribute("x", best.x);
    made.rect.setAttribute("y", best.y);
    made.rect.setAttribute("width", width);
    made.rect.setAttribute("height", height);
    made.text.setAttribute("x", best.x + 3 - dx);
    made.text.setAttribute("y", best.y + 1 - dy);
    made.g.classList.toggle("cg-fresh", fresh);
    placed.push(best);
  }

  // Tall or wide graphs scroll inside their box: bring the active node into view.
  var graphBox = document.getElementById("cg-graph");
  function follow(frame) {
    var shown = groups(frame.node).concat(groups(frame.op));
    if (!shown.length) { return; }
    var area = null;
    shown.forEach(function (group) {
      var r = group.getBoundingClientRect();
      area = area === null ? { top: r.top, bottom: r.bottom, left: r.left, right: r.right } : {
        top: Math.min(area.top, r.top), bottom: Math.max(area.bottom, r.bottom),
        left: Math.min(area.left, r.left), right: Math.max(area.right, r.right)
      };
    });
    var view = graphBox.getBoundingClientRect();
    var top = view.top + graphBox.clientTop, left = view.left + graphBox.clientLeft;
    var height = graphBox.clientHeight, width = graphBox.clientWidth;
    if (area.top < top || area.bottom > top + height) {
      graphBox.scrollTop += (area.top + area.bottom) / 2 - (top + height / 2);
    }
    if (area.left < left || area.right > left + width) {
      graphBox.scrollLeft += (area.left + area.right) / 2 - (left + width / 2);
    }
  }

  var slider = document.getElementById("cg-slider");
  var playButton = document.getElementById("cg-play");
  var speed = document.getElementById("cg-speed");
  var current = 0, timer = null;
  slider.max = String(frames.length - 1);

  function mark(keys, name) {
    keys.forEach(function (key) {
      groups(key).forEach(function (g) { g.classList.add(name); });
    });
  }

  function show(index) {
    current = Math.max(0, Math.min(frames.length - 1, index));
    var frame = frames[current];
    var grads = new Map();
    for (var i = 0; i <= current; i++) {
      var set = frames[i].grads;
      for (var id in set) {
        if (Object.prototype.hasOwnProperty.call(set, id)) { grads.set(id, set[id]); }
      }
    }
    svg.querySelectorAll(".cg-current, .cg-flow-forward, .cg-flow-backward").forEach(
      function (g) { g.classList.remove("cg-current", "cg-flow-forward", "cg-flow-backward"); });
    nodes.forEach(function (node, position) {
      var pending = position >= frame.shown;
      [node.id, node.op].concat(node.edges).forEach(function (key) {
        groups(key).forEach(function (g) { g.classList.toggle("cg-pending", pending); });
      });
    });
    mark([frame.node, frame.op], "cg-current");
    follow(frame);
    mark(frame.edges || [], frame.phase === "backward" ? "cg-flow-backward" : "cg-flow-forward");
    var shortTexts = new Map();
    for (var j = 0; j <= current; j++) {
      var short = frames[j].badges || {};
      for (var key in short) {
        if (Object.prototype.hasOwnProperty.call(short, key)) { shortTexts.set(key, short[key]); }
      }
    }
    badges.forEach(function (made) { made.g.style.display = "none"; });
    var placed = [];
    var list = document.getElementById("cg-grads");
    list.textContent = "";
    nodes.forEach(function (node) {
      if (!grads.has(node.id)) { return; }
      var fresh = Object.prototype.hasOwnProperty.call(frame.grads, node.id);
      var made = badge(node.id);
      var short = shortTexts.has(node.id) ? shortTexts.get(node.id) : grads.get(node.id);
      if (made) { setBadge(made, "grad: " + short, fresh, placed); }
      var item = document.createElement("li");
      item.textContent = node.d + " = " + grads.get(node.id);
      if (fresh) { item.style.fontWeight = "700"; }
      list.appendChild(item);
    });
    document.getElementById("cg-phase").textContent =
      frame.phase === "start" ? "the graph" : frame.phase + " pass";
    document.getElementById("cg-title").textContent = frame.title;
    var lines = document.getElementById("cg-lines");
    lines.textContent = "";
    frame.lines.forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      lines.appendChild(div);
    });
    slider.value = String(current);
    document.getElementById("cg-counter").textContent =
      "frame " + (current + 1) + " / " + frames.length;
  }

  function delay() { return 1000 / Number(speed.value || 1); }
  function tick() {
    if (current >= frames.length - 1) { pause(); return; }
    show(current + 1);
    timer = window.setTimeout(tick, delay());
  }
  function play() {
    if (timer !== null) { return; }
    if (current >= frames.length - 1) { show(0); }
    playButton.classList.add("cg-playing");
    playButton.setAttribute("aria-label", "pause");
    timer = window.setTimeout(tick, delay());
  }
  function pause() {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = null;
    playButton.classList.remove("cg-playing");
    playButton.setAttribute("aria-label", "play");
  }
  function toggle() { if (timer === null) { play(); } else { pause(); } }
  function step(by) { pause(); show(current + by); }

  playButton.addEventListener("click", toggle);
  document.getElementById("cg-back").addEventListener("click", function () { step(-1); });
  document.getElementById("cg-forward").addEventListener("click", function () { step(1); });
  document.getElementById("cg-first").addEventListener("click", function () { pause(); show(0); });
  document.getElementById("cg-last").addEventListener("click", function () {
    pause(); show(frames.length - 1);
  });
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  speed.addEventListener("change", function () {
    if (timer !== null) { pause(); play(); }
  });
  var keys = {
    ArrowRight: function () { step(1); }, ArrowLeft: function () { step(-1); },
    Home: function () { pause(); show(0); },
    End: function () { pause(); show(frames.length - 1); },
    " ": toggle
  };
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !keys[event.key]) { return; }
    if (event.target === speed) { return; }
    // Handled here only: cancelling the key stops a focused button from also clicking on
    // space, the slider from also moving on arrows, and the page from scrolling.
    event.preventDefault();
    keys[event.key]();
  });
  window.compgraphPlayer = {
    frames: frames.length,
    show: function (index) { pause(); show(index); },
    frame: function () { return current; }
  };
  show(0);
}());
