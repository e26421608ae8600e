// Inputs that some buttons need after they are pressed (the task waits in MODAL): a prompt for
// Custom Zoom, and a region plus prompt for Vary (Region). Built on <dialog>.

import { h } from "./dom.js";

function dialog(title, body, confirmLabel) {
  return new Promise((resolve) => {
    const form = h("form.dialog-body", { method: "dialog" },
      h("h2", title),
      body.element,
      h("div.dialog-actions",
        h("button.ghost", { type: "button", value: "cancel", onclick: () => close(null) }, "Cancel"),
        h("button.primary", { type: "submit", value: "ok" }, confirmLabel)));
    const box = h("dialog.modal", form);
    function close(value) {
      box.close();
      box.remove();
      resolve(value);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = body.value();
      if (value) close(value);
    });
    box.addEventListener("cancel", () => close(null));
    document.body.append(box);
    box.showModal();
    body.focus?.();
  });
}

export function askPrompt({ title, hint, initial }) {
  const input = h("textarea.prompt-input", { rows: 3, required: true, name: "prompt" });
  input.value = initial || "";
  return dialog(title, {
    element: h("div", h("p.hint", hint), input),
    value: () => input.value.trim() || null,
    focus: () => input.focus(),
  }, "Submit");
}

// Lets the user drag a rectangle over the image; returns {prompt, mask} with the mask as a
// black PNG whose selected region is white, at the image's own size.
export function askRegion({ imageUrl, initial }) {
  const image = h("img.region-image", { src: imageUrl, alt: "image to edit", draggable: false });
  const box = h("div.region-box", { hidden: true });
  const stage = h("div.region-stage", image, box);
  const input = h("textarea.prompt-input", { rows: 2, name: "prompt" });
  input.value = initial || "";
  let start = null;
  let rect = null;
  const point = (event) => {
    const bounds = image.getBoundingClientRect();
    return {
      x: Math.max(0, Math.min(1, (event.clientX - bounds.left) / bounds.width)),
      y: Math.max(0, Math.min(1, (event.clientY - bounds.top) / bounds.height)),
    };
  };
  const draw = () => {
    box.hidden = !rect;
    if (!rect) return;
    box.style.cssText = `left:${rect.x * 100}%;top:${rect.y * 100}%;` +
      `width:${rect.w * 100}%;height:${rect.h * 100}%`;
  };
  stage.addEventListener("pointerdown", (event) => {
    event.preventDefault(); // no native image drag or text selection while marking
    stage.setPointerCapture(event.pointerId);
    start = point(event);
    rect = null;
    draw();
  });
  stage.addEventListener("pointermove", (event) => {
    if (!start) return;
    const p = point(event);
    rect = { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y),
      w: Math.abs(p.x - start.x), h: Math.abs(p.y - start.y) };
    draw();
  });
  stage.addEventListener("pointerup", () => { start = null; });
  return dialog("Vary (Region)", {
    element: h("div",
      h("p.hint", "Drag over the part to change, then say what should be there."),
      stage, input),
    value: () => {
      if (!rect || rect.w < 0.01 || rect.h < 0.01) return null;
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth || 1024;
      canvas.height = image.naturalHeight || 1024;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#fff";
      ctx.fillRect(rect.x * canvas.width, rect.y * canvas.height,
        rect.w * canvas.width, rect.h * canvas.height);
      return { prompt: input.value.trim(), mask: canvas.toDataURL("image/png") };
    },
  }, "Vary region");
}
