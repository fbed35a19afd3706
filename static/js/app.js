// Mesoclinic: small behaviours kept out of templates so the Content-Security-Policy can forbid inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// Sign-in and sessions: django-otp-webauthn's script only says a new security key or passkey
// worked; show the page again so that its list of keys and its recent changes include it.
document.addEventListener("otp_webauthn.register_complete", () => window.location.reload());
