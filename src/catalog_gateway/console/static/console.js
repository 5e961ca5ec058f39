// The console works without this file: it adds a confirmation, a copy button, and scrolls
// payloads to their marks.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  field.select();
  navigator.clipboard?.writeText(field.value).then(() => { button.textContent = "Copied"; });
});
// Scroll each payload to its first marked field (the page itself does not move).
for (const payload of document.querySelectorAll("pre.json")) {
  const mark = payload.querySelector(".json-error, .json-warning");
  if (mark) payload.scrollTop = mark.offsetTop - payload.clientHeight / 3;
}
