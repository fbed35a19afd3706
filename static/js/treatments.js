// Treatments: "Add a line" in the formulation formset clones the empty row kept in a <template>.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-line]");
  if (!button) return;
  event.preventDefault();
  const prefix = button.dataset.addLine;
  const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
  const template = document.getElementById("line-template");
  const body = document.querySelector("[data-lines]");
  if (!total || !template || !body) return;
  const index = Number(total.value);
  const html = template.innerHTML.replaceAll("__prefix__", String(index));
  body.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  const rows = body.querySelectorAll("tr");
  const select = rows[rows.length - 1].querySelector("select");
  if (select) select.focus();
});
