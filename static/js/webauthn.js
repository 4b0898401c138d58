/* Security keys (WebAuthn) for the forms marked data-webauthn="create" (add a key) or "get"
 * (use one). The server puts the options for the browser in data-webauthn-options (JSON, binary
 * values in base64url); on submit this asks the browser for the key, puts the key's answer into
 * the form's credential field (JSON, as PublicKeyCredential.toJSON() gives it) and sends the form.
 * A file of its own: the Content-Security-Policy runs no inline script. */
(function () {
  "use strict";

  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function toBase64url(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, { id: toBytes(d.id) }));
  }

  function publicKey(kind, options) {
    const key = Object.assign({}, options, { challenge: toBytes(options.challenge) });
    if (kind === "create") {
      key.user = Object.assign({}, options.user, { id: toBytes(options.user.id) });
      key.excludeCredentials = descriptors(options.excludeCredentials);
    } else {
      key.allowCredentials = descriptors(options.allowCredentials);
    }
    return key;
  }

  function answer(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        response.userHandle = toBase64url(r.userHandle);
      }
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response,
    };
  }

  /* Why a key cannot be used on this page, or "". */
  function unusable(kind, options) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      return "This browser cannot use security keys: log in with another, or use a code.";
    }
    const rpId = kind === "create" ? options.rp.id : options.rpId;
    const host = window.location.hostname;
    if (host !== rpId && !host.endsWith("." + rpId)) {
      return "Security keys work only at the site's own address (" + rpId + "), not at " +
        host + ". Open Forewarn there to use one.";
    }
    return "";
  }

  function failure(kind, error) {
    switch (error && error.name) {
      case "NotAllowedError":
        return "The key did not answer, or the request was cancelled. Try again.";
      case "InvalidStateError":
        return kind === "create"
          ? "This key is already registered to your account."
          : "This key cannot be used here. Try another.";
      case "SecurityError":
        return "The browser refused: this address may not use security keys.";
      case "AbortError":
        return "Cancelled.";
      default:
        return "The browser could not use a security key (" + (error && error.name) + ").";
    }
  }

  function wire(form) {
    const kind = form.dataset.webauthn;
    const status = form.querySelector("[data-webauthn-status]");
    const field = form.querySelector("[data-webauthn-credential]");
    const button = form.querySelector("button[type=submit]");
    const say = (text) => {
      status.textContent = text;
    };
    let options;
    try {
      options = JSON.parse(form.dataset.webauthnOptions);
    } catch (error) {
      options = null;
    }
    const problem = options ? unusable(kind, options) : "Reload the page to try again.";
    if (problem) {
      say(problem);
      button.disabled = true;
      return;
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      say("Touch your security key now (insert it first if it is not in).");
      try {
        const credential = await navigator.credentials[kind]({
          publicKey: publicKey(kind, options),
        });
        field.value = JSON.stringify(answer(credential));
        say("Checking the key's answer…");
        form.submit();
      } catch (error) {
        button.disabled = false;
        say(failure(kind, error));
      }
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(wire);
})();
