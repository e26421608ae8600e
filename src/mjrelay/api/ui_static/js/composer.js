// The prompt box: text, reference images by drag and drop (or picker), speed mode, Imagine.

import { readAsDataUrl } from "./api.js";
import { h, toast } from "./dom.js";

const MAX_IMAGES = 5;
const MAX_BYTES = 10 * 1024 * 1024;

export function composer(onSubmit) {
  const images = [];
  const prompt = h("textarea.prompt-input", {
    name: "prompt", rows: 3, placeholder: "A lighthouse at dusk, volumetric light --ar 3:2",
    "aria-label": "Prompt",
  });
  const chips = h("div.ref-images");
  const picker = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp,image/gif", multiple: true, hidden: true });
  const mode = h("select.mode", { name: "mode", "aria-label": "Speed mode" },
    h("option", { value: "" }, "Default speed"), h("option", { value: "fast" }, "Fast"),
    h("option", { value: "relax" }, "Relax"), h("option", { value: "turbo" }, "Turbo"));
  const submit = h("button.primary.imagine", { type: "submit" }, "Imagine");
  const drop = h("div.dropzone", { tabindex: "0", role: "button", "aria-label": "Add reference images" },
    h("span", "Drop reference images here or ", h("u", "browse")));

  function renderChips() {
    chips.replaceChildren(...images.map((url, index) =>
      h("div.ref", h("img", { src: url, alt: `reference ${index + 1}` }),
        h("button.remove", { type: "button", "aria-label": "Remove image",
          onclick: () => { images.splice(index, 1); renderChips(); } }, "×"))));
    drop.classList.toggle("has-images", images.length > 0);
  }

  async function add(files) {
    for (const file of files) {
      if (images.length >= MAX_IMAGES) { toast(`At most ${MAX_IMAGES} reference images`, "error"); break; }
      if (!file.type.startsWith("image/")) { toast(`${file.name} is not an image`, "error"); continue; }
      if (file.size > MAX_BYTES) { toast(`${file.name} is over 10 MB`, "error"); continue; }
      images.push(await readAsDataUrl(file));
    }
    renderChips();
  }

  drop.addEventListener("click", () => picker.click());
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") picker.click(); });
  picker.addEventListener("change", () => { add([...picker.files]); picker.value = ""; });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    add([...(event.dataTransfer?.files || [])]);
  });

  const form = h("form.composer.card", {},
    prompt, chips, drop, picker,
    h("div.composer-actions", mode, submit));
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = prompt.value.trim();
    if (!text) { prompt.focus(); toast("Write a prompt first", "error"); return; }
    submit.disabled = true;
    try {
      const ok = await onSubmit({ prompt: text, base64Array: images.slice(), mode: mode.value });
      if (ok) { prompt.value = ""; images.length = 0; renderChips(); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
