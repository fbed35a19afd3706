// Screening form: choosing "Yes" or "No" for a contraindication fills in today's date when none is
// given yet (the date is required for a yes or no); "Unknown" clears it.
document.addEventListener("change", (event) => {
  const radio = event.target.closest("input[type=radio][data-screening-answer]");
  if (!radio) return;
  const date = document.querySelector(`input[data-screening-date="${radio.dataset.screeningAnswer}"]`);
  if (!date) return;
  if (radio.value === "unknown") {
    date.value = "";
  } else if (!date.value) {
    date.value = date.max;
  }
});
