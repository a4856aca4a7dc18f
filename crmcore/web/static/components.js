// Plugin actions (crmcore.ui.Action) that ask before posting: <form data-confirm="…">.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
