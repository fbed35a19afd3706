// Consent signing on a tablet: one signature_pad per canvas[data-signature-for]; on submit each drawn
// signature goes into its hidden field as a PNG data URL (an empty box leaves the field empty, and the
// server says which signature is missing).
(() => {
  const pads = new Map();
  function fit(canvas, pad) {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const data = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(data);
  }
  document.querySelectorAll("canvas[data-signature-for]").forEach((canvas) => {
    const pad = new window.SignaturePad(canvas, { penColor: "#0b2a5b", minWidth: 1, maxWidth: 3 });
    pads.set(canvas.dataset.signatureFor, pad);
    fit(canvas, pad);
    window.addEventListener("resize", () => fit(canvas, pad));
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-signature-clear]");
    if (!button) return;
    const pad = pads.get(button.dataset.signatureClear);
    if (pad) pad.clear();
  });
  const form = document.querySelector("[data-consent-form]");
  if (form) {
    form.addEventListener("submit", () => {
      pads.forEach((pad, fieldId) => {
        const field = document.getElementById(fieldId);
        if (field) field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
      });
    });
  }
})();
