"""Mail-only phrases in English and French; statuses, dates and times come from the page's own catalogs."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "incident.opened": "New incident", "incident.updated": "Incident update",
        "incident.resolved": "Resolved", "incident.postmortem": "Postmortem",
        "maintenance.scheduled": "Scheduled maintenance", "maintenance.reminder": "Reminder: maintenance",
        "maintenance.started": "Maintenance started", "maintenance.completed": "Maintenance completed",
        "when": "When", "utc": "UTC", "affects": "Affects", "details": "Details",
        "unsubscribe": "Unsubscribe from these notices", "why": "You receive this because you subscribed to "
        "notices of {page}.", "emergency": "Emergency maintenance", "calendar": "The attached .ics adds this "
        "window to your calendar.", "confirm.subject": "Confirm your subscription to {page}",
        "confirm.body": "Someone (we hope you) asked to receive notices of {page} at this address. "
        "Confirm within {hours} hours by opening this link:", "confirm.ignore": "If it was not you, ignore "
        "this mail: nothing will be sent.",
        "form.title": "Subscribe to notices", "form.email": "E-mail address", "form.language": "Language",
        "form.components": "Components (none chosen: all)", "form.submit": "Subscribe",
        "form.sent": "Check your mail: we sent a confirmation link to {email}.",
        "form.confirmed": "Subscription confirmed. You will receive notices of {page}.",
        "form.unsubscribed": "You are unsubscribed: no more notices will be sent to {email}.",
        "form.unsubscribe_confirm": "Unsubscribe {email} from notices of {page}?",
        "form.bad_token": "This link is not valid (expired, already used or mistyped).",
        "form.confirm_prompt": "Send notices of {page} to {email}?", "form.confirm_button": "Confirm",
    },
    "fr": {
        "incident.opened": "Nouvel incident", "incident.updated": "Mise à jour de l'incident",
        "incident.resolved": "Résolu", "incident.postmortem": "Analyse post-incident",
        "maintenance.scheduled": "Maintenance planifiée", "maintenance.reminder": "Rappel : maintenance",
        "maintenance.started": "Maintenance commencée", "maintenance.completed": "Maintenance terminée",
        "when": "Quand", "utc": "UTC", "affects": "Touche", "details": "Détails",
        "unsubscribe": "Se désabonner de ces avis", "why": "Vous recevez ce message parce que vous êtes "
        "abonné aux avis de {page}.", "emergency": "Maintenance d'urgence", "calendar": "Le fichier .ics "
        "joint ajoute cette fenêtre à votre agenda.", "confirm.subject": "Confirmez votre abonnement à {page}",
        "confirm.body": "Quelqu'un (vous, espérons-le) a demandé à recevoir les avis de {page} à cette "
        "adresse. Confirmez dans les {hours} heures en ouvrant ce lien :", "confirm.ignore": "Si ce n'était "
        "pas vous, ignorez ce message : rien ne sera envoyé.",
        "form.title": "Mises à jour et notifications", "form.email": "Adresse courriel",
        "form.language": "Langue", "form.components": "Composants (aucun choisi : tous)",
        "form.submit": "S'abonner", "form.sent": "Vérifiez votre courriel : un lien de confirmation a été "
        "envoyé à {email}.", "form.confirmed": "Abonnement confirmé. Vous recevrez les avis de {page}.",
        "form.unsubscribed": "Vous êtes désabonné : plus aucun avis ne sera envoyé à {email}.",
        "form.unsubscribe_confirm": "Désabonner {email} des avis de {page}?",
        "form.bad_token": "Ce lien n'est pas valide (expiré, déjà utilisé ou mal copié).",
        "form.confirm_prompt": "Envoyer les avis de {page} à {email}?", "form.confirm_button": "Confirmer",
    },
}


def word(lang: str, key: str, **values: object) -> str:
    """The phrase `key` in `lang` (English when the language is unknown)."""
    text = WORDS.get(lang, WORDS["en"])[key]
    return text.format(**values) if values else text
