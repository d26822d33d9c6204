"""Mail-only phrases in English and French; statuses, dates and times come from the page's own catalogs.

French follows the page's fr-CA typography (docs/glossary.md): a no-break space before a colon, none before
`?`; labels take their colon from `colon`, never from a template.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "incident.opened": "New incident",
        "incident.updated": "Incident update",
        "incident.resolved": "Resolved",
        "incident.postmortem": "Postmortem",
        "maintenance.scheduled": "Scheduled maintenance",
        "maintenance.reminder": "Reminder: maintenance",
        "maintenance.started": "Maintenance started",
        "maintenance.completed": "Maintenance completed",
        "when": "When",
        "colon": ": ",
        "utc": "UTC",
        "affects": "Affected components",
        "details": "Details",
        "unsubscribe": "Unsubscribe from these notices",
        "why": "You receive this because you subscribed to notices of {page}.",
        "emergency": "Emergency maintenance",
        "calendar": "The attached .ics adds this window to your calendar.",
        "confirm.subject": "Confirm your subscription to {page}",
        "confirm.body": "Someone (we hope you) asked to receive notices of {page} at this address. "
        "Confirm within {hours} hours by opening this link:",
        "confirm.ignore": "If it was not you, ignore this mail: nothing will be sent.",
        "form.title": "Subscribe to notices",
        "form.email": "E-mail address",
        "form.language": "Language",
        "form.components": "Components (none chosen: all)",
        "form.submit": "Subscribe",
        "form.sent": "Check your mail: we sent a confirmation link to {email}.",
        "form.confirmed": "Subscription confirmed. You will receive notices of {page}.",
        "form.unsubscribed": "You are unsubscribed: no more notices will be sent to {email}.",
        "form.unsubscribe_confirm": "Unsubscribe {email} from notices of {page}?",
        "form.invalid_email": "This e-mail address is not valid.",
        "form.bad_token": "This link is not valid (expired, already used or mistyped).",
        "form.confirm_prompt": "Send notices of {page} to {email}?",
        "form.confirm_button": "Confirm",
    },
    "fr": {
        "incident.opened": "Nouvel incident",
        "incident.updated": "Mise à jour de l'incident",
        "incident.resolved": "Résolu",
        "incident.postmortem": "Analyse post-incident",
        "maintenance.scheduled": "Maintenance planifiée",
        "maintenance.reminder": "Rappel\u00a0: maintenance",
        "maintenance.started": "Maintenance commencée",
        "maintenance.completed": "Maintenance terminée",
        "when": "Quand",
        "colon": "\u00a0: ",
        "utc": "UTC",
        "affects": "Composants touchés",
        "details": "Détails",
        "unsubscribe": "Se désabonner de ces avis",
        "why": "Vous recevez ce message parce que vous êtes abonné aux avis de {page}.",
        "emergency": "Maintenance d'urgence",
        "calendar": "Le fichier .ics joint ajoute cette fenêtre à votre agenda.",
        "confirm.subject": "Confirmez votre abonnement à {page}",
        "confirm.body": "Quelqu'un (vous, espérons-le) a demandé à recevoir les avis de {page} à cette "
        "adresse. Confirmez dans les {hours} heures en ouvrant ce lien\u00a0:",
        "confirm.ignore": "Si ce n'était pas vous, ignorez ce message\u00a0: rien ne sera envoyé.",
        "form.title": "Mises à jour et notifications",
        "form.email": "Adresse courriel",
        "form.language": "Langue",
        "form.components": "Composants (aucun choisi\u00a0: tous)",
        "form.submit": "S'abonner",
        "form.sent": "Vérifiez votre courriel\u00a0: un lien de confirmation a été envoyé à {email}.",
        "form.confirmed": "Abonnement confirmé. Vous recevrez les avis de {page}.",
        "form.unsubscribed": "Vous êtes désabonné\u00a0: plus aucun avis ne sera envoyé à {email}.",
        "form.unsubscribe_confirm": "Désabonner {email} des avis de {page}?",
        "form.invalid_email": "Cette adresse courriel n'est pas valide.",
        "form.bad_token": "Ce lien n'est pas valide (expiré, déjà utilisé ou mal copié).",
        "form.confirm_prompt": "Envoyer les avis de {page} à {email}?",
        "form.confirm_button": "Confirmer",
    },
}


def word(lang: str, key: str, **values: object) -> str:
    """The phrase `key` in `lang` (English when the language is unknown)."""
    text = WORDS.get(lang, WORDS["en"])[key]
    return text.format(**values) if values else text
