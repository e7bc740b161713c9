// The console's wording, in French and English, and the formats of money
// and dates. Money is integer minor units from the API to the screen: it is
// formatted here and never computed with floats.

const words = {
  fr: {
    skip: 'Aller au contenu', console: 'console', menu: 'Menu',
    'nav.invoices': 'Factures', 'nav.mailbox': 'Courrier', 'nav.settings': 'Clinique',
    devnote: "Console locale de make dev : elle appelle l'API publique avec un jeton, comme un front end le ferait.",
    loading: 'Chargement…',
    'invoices.title': 'Factures', 'invoices.filters': 'Filtres', 'invoices.search': 'Rechercher (numéro ou patient)', 'invoices.status': 'Statut', 'invoices.link': 'Lien de paiement',
    'invoices.any': 'Tous', 'invoices.withLink': 'Avec un lien actif', 'invoices.withoutLink': 'Sans lien actif',
    'invoices.number': 'Numéro', 'invoices.patient': 'Patient', 'invoices.issued': 'Émise le', 'invoices.total': 'Total',
    'invoices.balance': 'Solde dû', 'invoices.more': 'Afficher plus', 'invoices.none': 'Aucune facture.',
    'invoices.new': 'Nouvelle facture', 'invoices.caption': 'Factures, les plus récentes d\u2019abord',
    'invoices.hasLink': 'lien actif', 'invoices.noLink': 'aucun',
    'status.open': 'À payer', 'status.processing': 'En traitement', 'status.paid': 'Payée', 'status.partially_refunded': 'Remboursée en partie',
    'status.refunded': 'Remboursée', 'status.disputed': 'Contestée', 'status.dispute_lost': 'Contestation perdue',
    'new.title': 'Nouvelle facture', 'new.number': 'Numéro de facture', 'new.patientName': 'Nom du patient', 'new.patientEmail': 'Courriel du patient',
    'new.language': 'Langue du patient', 'new.description': 'Description', 'new.amount': 'Montant ($)', 'new.amountHint': 'Par exemple 125,00',
    'new.dueOn': 'Échéance', 'new.create': 'Créer la facture', 'new.created': 'Facture {number} créée.',
    cancel: 'Annuler', close: 'Fermer', back: '← Factures',
    'invoice.title': 'Facture {number}', 'invoice.patient': 'Patient', 'invoice.language': 'Langue', 'invoice.issued': 'Émise le',
    'invoice.due': 'Échéance', 'invoice.total': 'Total', 'invoice.balance': 'Solde dû', 'invoice.netPaid': 'Payé en ligne (net)',
    'invoice.overpaid': 'Trop-perçu', 'invoice.lines': 'Lignes', 'invoice.description': 'Description', 'invoice.amount': 'Montant',
    'link.title': 'Lien de paiement', 'link.url': 'Adresse du lien', 'link.copy': 'Copier', 'link.copied': 'Lien copié.',
    'link.open': 'Ouvrir le lien', 'link.none': 'Aucun lien de paiement actif.', 'link.add': 'Ajouter un lien de paiement',
    'link.regenerate': 'Générer un nouveau lien', 'link.remove': 'Retirer le lien', 'link.added': 'Lien de paiement ajouté.',
    'link.regenerated': 'Nouveau lien généré; l\u2019ancien est désactivé.', 'link.removed': 'Lien retiré; il est désactivé chez Stripe.',
    'link.amount': 'Montant demandé', 'link.blocked': 'Impossible d\u2019ajouter un lien : {message}',
    'blocked.invoice_paid': 'la facture a été payée en ligne.', 'blocked.payment_processing': 'un paiement de cette facture est en traitement.',
    'blocked.nothing_due': 'le solde est nul.', 'blocked.limit_reached': 'cette facture a atteint le nombre maximal de liens; communiquez avec le soutien.',
    'blocked.stripe_account_not_connected': 'la clinique n\u2019a pas de compte Stripe connecté.',
    'blocked.billing_company_not_configured': 'la clinique n\u2019est pas encore configurée.',
    'history.title': 'Historique des liens', 'history.created': 'Créé le', 'history.link': 'Lien', 'history.status': 'État',
    'history.reason': 'Raison', 'history.ended': 'Terminé le', 'history.none': 'Aucun lien pour l\u2019instant.',
    'linkstatus.active': 'actif', 'linkstatus.replaced': 'remplacé', 'linkstatus.removed': 'retiré', 'linkstatus.paid': 'payé',
    'linkstatus.completed': 'utilisé', 'linkstatus.expired': 'expiré',
    'email.send': 'Envoyer par courriel', 'email.title': 'Envoyer la facture par courriel', 'email.to': 'Destinataire',
    'email.language': 'Langue du courriel', 'email.includeLink': 'Ajouter un lien de paiement (bouton « Payer la facture »)',
    'email.message': 'Message au patient (facultatif)', 'email.messageHint': '1000 caractères au plus; aucun renseignement de santé.',
    'email.submit': 'Envoyer', 'email.sent': 'Courriel envoyé à {to}.', 'email.open': 'Voir dans le courrier',
    'emails.title': 'Courriels envoyés', 'emails.sentAt': 'Envoyé le', 'emails.to': 'À', 'emails.language': 'Langue',
    'emails.link': 'Lien', 'emails.status': 'État', 'emails.none': 'Aucun courriel envoyé.', 'emails.sent': 'envoyé',
    'emails.delivered': 'livré', 'emails.bounced': 'refusé', 'emails.complained': 'signalé comme pourriel', 'emails.delayed': 'retardé',
    'emails.kind': 'Type', 'emails.pending': 'En attente', 'emails.inFlight': 'envoi en cours, en attente de SES', 'emails.queued': 'à envoyer',
    'emails.rejected': 'refusé par SES', 'emails.failed': 'non envoyé (échec)',
    'kind.invoice': 'Facture', 'kind.receipt': 'Reçu', 'kind.reminder': 'Rappel',
    'bounce.Permanent': 'définitif', 'bounce.Transient': 'temporaire', 'bounce.Undetermined': 'indéterminé',
    'step.before': '{days} j avant l\u2019échéance', 'step.after': '{days} j après l\u2019échéance',
    'reminders.title': 'Rappels', 'reminders.pause': 'Suspendre les rappels', 'reminders.resume': 'Reprendre les rappels',
    'reminders.paused': 'Rappels suspendus pour cette facture.', 'reminders.resumed': 'Rappels repris; ceux manqués ne seront pas envoyés.',
    'reminders.isPaused': 'Les rappels de cette facture sont suspendus.', 'reminders.next': 'Prochain rappel : {step}, le {at}.',
    'reminders.allDone': 'Tous les rappels prévus sont passés.', 'reminders.none': 'Aucun rappel prévu (pas de politique de rappel ou pas d\u2019échéance).',
    'reminders.blocked.no_policy': 'La clinique n\u2019envoie pas de rappels.', 'reminders.blocked.paused': 'Rappels suspendus.',
    'reminders.blocked.payment_processing': 'Un paiement est en traitement : aucun rappel.', 'reminders.blocked.nothing_due': 'Rien à payer : aucun rappel.',
    'reminders.blocked.address_bounced': 'L\u2019adresse du patient a refusé un courriel : aucun rappel. Appelez le patient.',
    'settings.emails': 'Courriels aux patients', 'settings.receipts': 'Envoyer un reçu quand un paiement réussit',
    'settings.pdf': 'Joindre la facture en PDF (courriel de facture et rappels)', 'settings.detail': 'Détail des courriels et du PDF',
    'settings.detailHint': 'Sommaire : numéro, dates, total, payé, solde et lien, sans la description des lignes (Loi 25 : le minimum nécessaire; une ligne peut nommer un soin).',
    'detail.lines': 'Les lignes de la facture', 'detail.summary': 'Sommaire, sans description des lignes',
    'settings.reminders': 'Rappels de paiement', 'settings.beforeDue': 'Jours avant l\u2019échéance', 'settings.afterDue': 'Jours après l\u2019échéance',
    'settings.daysHint': 'Séparés par des virgules, au plus {most}, de 1 à {max}; vide : aucun.', 'settings.reminderLink': 'Ajouter le bouton « Payer la facture » aux rappels',
    'payments.title': 'Paiements', 'payments.none': 'Aucun paiement en ligne.', 'payments.amount': 'Montant', 'payments.status': 'État',
    'payments.paidAt': 'Payé le', 'payments.refunded': 'Remboursé', 'payments.refunds': 'Remboursements', 'payments.disputes': 'Contestations',
    'payments.reference': 'Référence', 'payments.charged': 'Facturé au patient',
    'paystatus.succeeded': 'réussi', 'paystatus.processing': 'en traitement', 'paystatus.failed': 'échoué', 'paystatus.needs_review': 'à vérifier',
    'sim.title': 'Simuler chez Stripe (local)', 'sim.refund': 'Rembourser…', 'sim.disputeOpen': 'Ouvrir une contestation',
    'sim.disputeWon': 'Contestation gagnée', 'sim.disputeLost': 'Contestation perdue', 'sim.clear': 'Le débit passe', 'sim.fail': 'Le débit échoue',
    'sim.done': 'Événement Stripe envoyé : {events}.',
    'refund.title': 'Rembourser le paiement', 'refund.amount': 'Montant à rembourser ($)', 'refund.hint': 'Au plus {max}.', 'refund.submit': 'Rembourser',
    'mailbox.title': 'Courrier reçu par SES (local)', 'mailbox.none': 'Aucun courriel reçu.', 'mailbox.subject': 'Objet', 'mailbox.to': 'À',
    'mailbox.at': 'Reçu le', 'mailbox.html': 'Tel que le patient le voit', 'mailbox.text': 'Texte brut', 'mailbox.headers': 'En-têtes',
    'mailbox.from': 'De', 'mailbox.replyTo': 'Répondre à', 'mailbox.back': '← Courrier', 'mailbox.attachments': 'Pièces jointes',
    'mailbox.frame': 'Le courriel {subject}',
    'settings.title': 'La clinique', 'settings.name': 'Nom de la clinique', 'settings.replyTo': 'Adresse de réponse',
    'settings.language': 'Langue par défaut', 'settings.save': 'Enregistrer', 'settings.saved': 'Clinique enregistrée.',
    'settings.stripe': 'Connexion Stripe', 'settings.account': 'Compte Stripe', 'settings.notConnected': 'Aucun compte Stripe connecté.',
    'settings.charges': 'Paiements acceptés', 'settings.details': 'Renseignements fournis', 'settings.country': 'Pays',
    'settings.currency': 'Devise par défaut', 'settings.warnings': 'Avertissements', 'yes': 'oui', 'no': 'non',
    'settings.devWarning': 'En local, stripe-mock répond toujours avec le même compte de démonstration, dont les paiements ne sont pas activés : cet avertissement est attendu avec make dev.',
    'lang.fr': 'Français', 'lang.en': 'Anglais', 'lang.default': 'Langue de la clinique',
    'error': 'Erreur {status} ({code}) : {message}', 'error.network': 'L\u2019API ne répond pas : {message}',

    // Every error code of the API (internal/billing/errors.go), in the
    // staff's words; devconsole's TestEveryErrorCodeIsWorded holds this
    // list to the API's.
    'err.invalid_request': 'Une valeur n\u2019est pas acceptée; corrigez le champ indiqué.',
    'err.payload_too_large': 'La demande est trop volumineuse; raccourcissez le message ou les lignes.',
    'err.unsupported_media_type': 'La console a envoyé une demande d\u2019un format refusé; rechargez la page.',
    'err.unauthorized': 'Votre session a expiré; rechargez la page pour vous reconnecter.',
    'err.forbidden': 'Vous n\u2019avez pas l\u2019autorisation de faire ce changement.',
    'err.not_found': 'Cette facture ou cette clinique est introuvable; elle a peut-être été retirée.',
    'err.no_active_link': 'Cette facture n\u2019a plus de lien de paiement actif (il a peut-être déjà été retiré ou payé).',
    'err.nothing_due': 'Le solde de cette facture est nul : il n\u2019y a rien à payer en ligne.',
    'err.invoice_paid': 'Cette facture a été payée en ligne : son total et sa devise ne changent plus, et aucun lien n\u2019est possible.',
    'err.payment_processing': 'Un paiement de cette facture est en traitement (débit préautorisé); attendez son issue.',
    'err.conflict': 'La facture vient d\u2019être modifiée par une autre personne; réessayez dans {seconds} s.',
    'err.idempotency_key_reused': 'La console a réutilisé la clé d\u2019une autre demande; rechargez la page et recommencez.',
    'err.request_in_progress': 'La même demande est encore en cours; réessayez dans {seconds} s.',
    'err.stripe_account_not_connected': 'La clinique n\u2019a pas de compte Stripe connecté : aucun paiement en ligne possible.',
    'err.billing_company_not_configured': 'La clinique n\u2019est pas encore configurée (nom, adresse de réponse).',
    'err.stripe_account_in_use': 'Ce compte Stripe est déjà relié à une autre clinique.',
    'err.stripe_account_unavailable': 'Stripe ne reconnaît pas ce compte, ou ne nous y donne plus accès.',
    'err.limit_reached': 'Cette facture a atteint le nombre maximal de liens; communiquez avec le soutien.',
    'err.balance_exceeds_unpaid': 'Le solde dépasse ce qui reste impayé après les paiements en ligne.',
    'err.address_required': 'Saisissez d\u2019abord l\u2019adresse de la clinique (page Clinique) : Stripe en a besoin pour ses lecteurs.',
    'err.reader_registration_failed': 'Stripe a refusé ce code d\u2019enregistrement; vérifiez le code affiché par le lecteur.',
    'err.reader_busy': 'Ce lecteur traite déjà un paiement; attendez qu\u2019il se termine ou annulez-le.',
    'err.reader_offline': 'Ce lecteur est hors ligne; vérifiez son alimentation et son réseau.',
    'err.reader_payment_in_progress': 'Un paiement au comptoir de cette facture est en cours sur un lecteur.',
    'err.reader_payment_completing': 'La carte a déjà été présentée : le paiement ne peut plus être annulé.',
    'err.refund_exceeds_payment': 'Le remboursement dépasse ce qui reste du paiement.',
    'err.precondition_failed': 'La facture a changé depuis que vous l\u2019avez ouverte; rechargez-la et recommencez.',
    'err.precondition_required': 'Cette facture a un paiement en ligne : rechargez-la avant d\u2019en changer les montants.',
    'err.payment_provider_error': 'Stripe a refusé la demande ({message}).',
    'err.payment_provider_unavailable': 'Stripe ne répond pas pour l\u2019instant; réessayez dans {seconds} s.',
    'err.email_provider_error': 'Le service de courriel a refusé l\u2019envoi.',
    'err.email_provider_unavailable': 'Le service de courriel ne répond pas pour l\u2019instant; réessayez dans {seconds} s.',
    'err.service_unavailable': 'Le service est occupé; réessayez dans {seconds} s.',
    'err.internal_error': 'Une erreur inattendue est survenue; rien n\u2019a été changé. Réessayez, puis avisez le soutien.',
    'err.invalid_signature': 'Événement Stripe refusé : signature invalide.',
    'err.invalid_event': 'Événement Stripe refusé : contenu invalide.',
    'err.network_error': 'L\u2019API ne répond pas; vérifiez que make dev tourne.',
    'error.support': 'Code pour le soutien : {code}', 'error.heading': 'Impossible d\u2019afficher cette page',
    'form.fix': 'Corrigez les champs indiqués.',
    'invalid.required': 'Ce champ est obligatoire.',
    'invalid.email': 'Entrez une adresse courriel complète, par exemple nom@exemple.ca.',
    'invalid.amount': 'Entrez un montant positif, par exemple 125,00.',
    'invalid.refund': 'Entrez un montant de 0,01 à {max}.',
    'invalid.days': 'Des nombres de jours de 1 à {max}, séparés par des virgules, au plus {most}, sans répétition.',
    'invalid.number': 'Le numéro doit compter de 1 à 64 caractères.',
    'invalid.message': '1000 caractères au plus.',
    'invalid.dueOn': 'L\u2019échéance doit suivre la date d\u2019émission.',
    'invalid.field': 'Valeur refusée.',
    'invalid.name': 'Le nom doit compter de 1 à 200 caractères, sans @, < ni >.',
    'dialog.about': 'Facture {number} — {patient}',
    'confirm.regenerate.title': 'Générer un nouveau lien?',
    'confirm.regenerate.what': 'Le lien actuel sera désactivé chez Stripe et remplacé par un nouveau lien de {amount}.',
    'confirm.remove.title': 'Retirer le lien de paiement?',
    'confirm.remove.what': 'Le lien sera désactivé chez Stripe; la facture restera à payer ({amount}), sans paiement en ligne jusqu\u2019à un nouveau lien.',
    'confirm.emails': 'Le bouton « Payer la facture » des {count} courriel(s) déjà envoyés avec ce lien mènera à une page indiquant que le lien n\u2019est plus actif.',
    'confirm.noEmails': 'Aucun courriel n\u2019a été envoyé avec ce lien.',
    'resend.title': 'Envoyer la facture à nouveau?',
    'resend.regenerate': 'Le patient n\u2019a que l\u2019ancien lien, maintenant désactivé. Envoyez-lui la facture avec le nouveau lien.',
    'resend.remove': 'Le lien envoyé au patient est désactivé. Envoyez-lui la facture à nouveau, sans lien de paiement, pour l\u2019en aviser.',
    'resend.yes': 'Envoyer la facture…', 'resend.no': 'Plus tard',
    'help': 'Aide',
  },
  en: {
    skip: 'Skip to content', console: 'console', menu: 'Menu',
    'nav.invoices': 'Invoices', 'nav.mailbox': 'Mailbox', 'nav.settings': 'Clinic',
    devnote: 'make dev\u2019s local console: it calls the public API with a token, as a front end would.',
    loading: 'Loading…',
    'invoices.title': 'Invoices', 'invoices.filters': 'Filters', 'invoices.search': 'Search (number or patient)', 'invoices.status': 'Status', 'invoices.link': 'Payment link',
    'invoices.any': 'Any', 'invoices.withLink': 'With an active link', 'invoices.withoutLink': 'Without an active link',
    'invoices.number': 'Number', 'invoices.patient': 'Patient', 'invoices.issued': 'Issued on', 'invoices.total': 'Total',
    'invoices.balance': 'Balance due', 'invoices.more': 'Show more', 'invoices.none': 'No invoices.',
    'invoices.new': 'New invoice', 'invoices.caption': 'Invoices, newest first',
    'invoices.hasLink': 'active link', 'invoices.noLink': 'none',
    'status.open': 'Open', 'status.processing': 'Processing', 'status.paid': 'Paid', 'status.partially_refunded': 'Partially refunded',
    'status.refunded': 'Refunded', 'status.disputed': 'Disputed', 'status.dispute_lost': 'Dispute lost',
    'new.title': 'New invoice', 'new.number': 'Invoice number', 'new.patientName': 'Patient\u2019s name', 'new.patientEmail': 'Patient\u2019s e-mail',
    'new.language': 'Patient\u2019s language', 'new.description': 'Description', 'new.amount': 'Amount ($)', 'new.amountHint': 'For example 125.00',
    'new.dueOn': 'Due on', 'new.create': 'Create the invoice', 'new.created': 'Invoice {number} created.',
    cancel: 'Cancel', close: 'Close', back: '← Invoices',
    'invoice.title': 'Invoice {number}', 'invoice.patient': 'Patient', 'invoice.language': 'Language', 'invoice.issued': 'Issued on',
    'invoice.due': 'Due on', 'invoice.total': 'Total', 'invoice.balance': 'Balance due', 'invoice.netPaid': 'Paid online (net)',
    'invoice.overpaid': 'Overpaid', 'invoice.lines': 'Lines', 'invoice.description': 'Description', 'invoice.amount': 'Amount',
    'link.title': 'Payment link', 'link.url': 'Link address', 'link.copy': 'Copy', 'link.copied': 'Link copied.',
    'link.open': 'Open the link', 'link.none': 'No active payment link.', 'link.add': 'Add a payment link',
    'link.regenerate': 'Generate new link', 'link.remove': 'Remove link', 'link.added': 'Payment link added.',
    'link.regenerated': 'New link generated; the old one is deactivated.', 'link.removed': 'Link removed; it is deactivated at Stripe.',
    'link.amount': 'Amount asked', 'link.blocked': 'No link can be added: {message}',
    'blocked.invoice_paid': 'the invoice was paid online.', 'blocked.payment_processing': 'a payment of this invoice is processing.',
    'blocked.nothing_due': 'nothing is due.', 'blocked.limit_reached': 'this invoice reached the most links it may have; contact support.',
    'blocked.stripe_account_not_connected': 'the clinic has no connected Stripe account.',
    'blocked.billing_company_not_configured': 'the clinic is not set up yet.',
    'history.title': 'Link history', 'history.created': 'Created', 'history.link': 'Link', 'history.status': 'Status',
    'history.reason': 'Reason', 'history.ended': 'Ended', 'history.none': 'No link yet.',
    'linkstatus.active': 'active', 'linkstatus.replaced': 'replaced', 'linkstatus.removed': 'removed', 'linkstatus.paid': 'paid',
    'linkstatus.completed': 'used', 'linkstatus.expired': 'expired',
    'email.send': 'Send by e-mail', 'email.title': 'Send the invoice by e-mail', 'email.to': 'To',
    'email.language': 'E-mail language', 'email.includeLink': 'Add a payment link (the “Pay Invoice” button)',
    'email.message': 'Message to the patient (optional)', 'email.messageHint': 'At most 1000 characters; no health details.',
    'email.submit': 'Send', 'email.sent': 'E-mail sent to {to}.', 'email.open': 'See it in the mailbox',
    'emails.title': 'E-mails sent', 'emails.sentAt': 'Sent', 'emails.to': 'To', 'emails.language': 'Language',
    'emails.link': 'Link', 'emails.status': 'Status', 'emails.none': 'No e-mail sent.', 'emails.sent': 'sent',
    'emails.delivered': 'delivered', 'emails.bounced': 'bounced', 'emails.complained': 'marked as spam', 'emails.delayed': 'delayed',
    'emails.kind': 'Kind', 'emails.pending': 'Waiting', 'emails.inFlight': 'being sent, waiting for SES', 'emails.queued': 'to be sent',
    'emails.rejected': 'refused by SES', 'emails.failed': 'not sent (failed)',
    'kind.invoice': 'Invoice', 'kind.receipt': 'Receipt', 'kind.reminder': 'Reminder',
    'bounce.Permanent': 'permanent', 'bounce.Transient': 'temporary', 'bounce.Undetermined': 'undetermined',
    'step.before': '{days} d before due', 'step.after': '{days} d after due',
    'reminders.title': 'Reminders', 'reminders.pause': 'Pause reminders', 'reminders.resume': 'Resume reminders',
    'reminders.paused': 'Reminders paused for this invoice.', 'reminders.resumed': 'Reminders resumed; the missed ones will not be sent.',
    'reminders.isPaused': 'This invoice\u2019s reminders are paused.', 'reminders.next': 'Next reminder: {step}, on {at}.',
    'reminders.allDone': 'Every planned reminder has passed.', 'reminders.none': 'No reminder planned (no reminder policy, or no due date).',
    'reminders.blocked.no_policy': 'The clinic sends no reminders.', 'reminders.blocked.paused': 'Reminders paused.',
    'reminders.blocked.payment_processing': 'A payment is processing: no reminder.', 'reminders.blocked.nothing_due': 'Nothing due: no reminder.',
    'reminders.blocked.address_bounced': 'The patient\u2019s address refused an e-mail: no reminder. Call the patient.',
    'settings.emails': 'E-mails to patients', 'settings.receipts': 'Send a receipt when a payment succeeds',
    'settings.pdf': 'Attach the invoice as a PDF (invoice e-mail and reminders)', 'settings.detail': 'Detail of e-mails and the PDF',
    'settings.detailHint': 'Summary: number, dates, total, paid, balance and link, no line descriptions (Quebec\u2019s Law 25: the minimum necessary; a line may name a care).',
    'detail.lines': 'The invoice\u2019s lines', 'detail.summary': 'Summary, no line descriptions',
    'settings.reminders': 'Payment reminders', 'settings.beforeDue': 'Days before the due date', 'settings.afterDue': 'Days after the due date',
    'settings.daysHint': 'Comma-separated, at most {most}, from 1 to {max}; empty: none.', 'settings.reminderLink': 'Add the “Pay Invoice” button to reminders',
    'payments.title': 'Payments', 'payments.none': 'No online payment.', 'payments.amount': 'Amount', 'payments.status': 'Status',
    'payments.paidAt': 'Paid', 'payments.refunded': 'Refunded', 'payments.refunds': 'Refunds', 'payments.disputes': 'Disputes',
    'payments.reference': 'Reference', 'payments.charged': 'Charged to the patient',
    'paystatus.succeeded': 'succeeded', 'paystatus.processing': 'processing', 'paystatus.failed': 'failed', 'paystatus.needs_review': 'needs review',
    'sim.title': 'Simulate at Stripe (local)', 'sim.refund': 'Refund…', 'sim.disputeOpen': 'Open a dispute',
    'sim.disputeWon': 'Dispute won', 'sim.disputeLost': 'Dispute lost', 'sim.clear': 'The debit clears', 'sim.fail': 'The debit fails',
    'sim.done': 'Stripe event sent: {events}.',
    'refund.title': 'Refund the payment', 'refund.amount': 'Amount to refund ($)', 'refund.hint': 'At most {max}.', 'refund.submit': 'Refund',
    'mailbox.title': 'Mail received by SES (local)', 'mailbox.none': 'No e-mail received.', 'mailbox.subject': 'Subject', 'mailbox.to': 'To',
    'mailbox.at': 'Received', 'mailbox.html': 'As the patient sees it', 'mailbox.text': 'Plain text', 'mailbox.headers': 'Headers',
    'mailbox.from': 'From', 'mailbox.replyTo': 'Reply to', 'mailbox.back': '← Mailbox', 'mailbox.attachments': 'Attachments',
    'mailbox.frame': 'The e-mail {subject}',
    'settings.title': 'The clinic', 'settings.name': 'Clinic name', 'settings.replyTo': 'Reply-to address',
    'settings.language': 'Default language', 'settings.save': 'Save', 'settings.saved': 'Clinic saved.',
    'settings.stripe': 'Stripe connection', 'settings.account': 'Stripe account', 'settings.notConnected': 'No Stripe account connected.',
    'settings.charges': 'Charges enabled', 'settings.details': 'Details submitted', 'settings.country': 'Country',
    'settings.currency': 'Default currency', 'settings.warnings': 'Warnings', 'yes': 'yes', 'no': 'no',
    'settings.devWarning': 'Locally, stripe-mock always answers with the same demo account, whose charges are not enabled: this warning is expected under make dev.',
    'lang.fr': 'French', 'lang.en': 'English', 'lang.default': 'The clinic\u2019s language',
    'error': 'Error {status} ({code}): {message}', 'error.network': 'The API does not answer: {message}',

    'err.invalid_request': 'A value is not accepted; correct the field shown.',
    'err.payload_too_large': 'The request is too large; shorten the message or the lines.',
    'err.unsupported_media_type': 'The console sent a request in a refused format; reload the page.',
    'err.unauthorized': 'Your session has expired; reload the page to sign in again.',
    'err.forbidden': 'You are not allowed to make this change.',
    'err.not_found': 'This invoice or clinic cannot be found; it may have been removed.',
    'err.no_active_link': 'This invoice no longer has an active payment link (it may have been removed or paid already).',
    'err.nothing_due': 'Nothing is due on this invoice: there is nothing to pay online.',
    'err.invoice_paid': 'This invoice was paid online: its total and currency no longer change, and no link is possible.',
    'err.payment_processing': 'A payment of this invoice is processing (pre-authorized debit); wait for its outcome.',
    'err.conflict': 'Someone else just changed the invoice; try again in {seconds} s.',
    'err.idempotency_key_reused': 'The console reused the key of another request; reload the page and start again.',
    'err.request_in_progress': 'The same request is still in progress; try again in {seconds} s.',
    'err.stripe_account_not_connected': 'The clinic has no connected Stripe account: no online payment is possible.',
    'err.billing_company_not_configured': 'The clinic is not set up yet (name, reply-to address).',
    'err.stripe_account_in_use': 'This Stripe account is already connected to another clinic.',
    'err.stripe_account_unavailable': 'Stripe does not know this account, or no longer gives us access to it.',
    'err.limit_reached': 'This invoice reached the most links it may have; contact support.',
    'err.balance_exceeds_unpaid': 'The balance is more than what is left unpaid after the online payments.',
    'err.address_required': 'Enter the clinic\u2019s address first (Clinic page): Stripe needs it for its readers.',
    'err.reader_registration_failed': 'Stripe refused this registration code; check the code the reader shows.',
    'err.reader_busy': 'This reader is already taking a payment; wait for it to finish or cancel it.',
    'err.reader_offline': 'This reader is offline; check its power and network.',
    'err.reader_payment_in_progress': 'A desk payment of this invoice is in progress on a reader.',
    'err.reader_payment_completing': 'The card was already presented: the payment can no longer be canceled.',
    'err.refund_exceeds_payment': 'The refund is more than what is left of the payment.',
    'err.precondition_failed': 'The invoice changed since you opened it; reload it and start again.',
    'err.precondition_required': 'This invoice has an online payment: reload it before changing its amounts.',
    'err.payment_provider_error': 'Stripe refused the request ({message}).',
    'err.payment_provider_unavailable': 'Stripe is not answering right now; try again in {seconds} s.',
    'err.email_provider_error': 'The e-mail service refused to send.',
    'err.email_provider_unavailable': 'The e-mail service is not answering right now; try again in {seconds} s.',
    'err.service_unavailable': 'The service is busy; try again in {seconds} s.',
    'err.internal_error': 'Something unexpected went wrong; nothing was changed. Try again, then tell support.',
    'err.invalid_signature': 'Stripe event refused: invalid signature.',
    'err.invalid_event': 'Stripe event refused: invalid content.',
    'err.network_error': 'The API does not answer; check that make dev is running.',
    'error.support': 'Code for support: {code}', 'error.heading': 'This page cannot be shown',
    'form.fix': 'Correct the fields shown.',
    'invalid.required': 'This field is required.',
    'invalid.email': 'Enter a full e-mail address, for example name@example.ca.',
    'invalid.amount': 'Enter a positive amount, for example 125.00.',
    'invalid.refund': 'Enter an amount from 0.01 to {max}.',
    'invalid.days': 'Numbers of days from 1 to {max}, separated by commas, at most {most}, no repeats.',
    'invalid.number': 'The number must be 1 to 64 characters.',
    'invalid.message': 'At most 1000 characters.',
    'invalid.dueOn': 'The due date must follow the issue date.',
    'invalid.field': 'Value refused.',
    'invalid.name': 'The name must be 1 to 200 characters, with no @, < or >.',
    'dialog.about': 'Invoice {number} — {patient}',
    'confirm.regenerate.title': 'Generate a new link?',
    'confirm.regenerate.what': 'The current link will be deactivated at Stripe and replaced by a new link for {amount}.',
    'confirm.remove.title': 'Remove the payment link?',
    'confirm.remove.what': 'The link will be deactivated at Stripe; the invoice stays due ({amount}), with no online payment until a new link.',
    'confirm.emails': 'The “Pay Invoice” button of the {count} e-mail(s) already sent with this link will lead to a page saying the link is no longer active.',
    'confirm.noEmails': 'No e-mail was sent with this link.',
    'resend.title': 'Send the invoice again?',
    'resend.regenerate': 'The patient only has the old link, now deactivated. Send them the invoice with the new link.',
    'resend.remove': 'The link sent to the patient is deactivated. Send them the invoice again, without a payment link, to let them know.',
    'resend.yes': 'Send the invoice…', 'resend.no': 'Later',
    'help': 'Help',
  },
};

let current = localStorage.getItem('clinicpay.lang') === 'en' ? 'en' : 'fr';

export function lang() { return current; }

export function setLang(l) {
  current = l === 'en' ? 'en' : 'fr';
  localStorage.setItem('clinicpay.lang', current);
  document.documentElement.lang = current;
}

// t is the wording of key in the current language, {name} filled from vars.
export function t(key, vars = {}) {
  const s = words[current][key] ?? words.fr[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function has(key) { return key in words[current]; }

const locales = { fr: 'fr-CA', en: 'en-CA' };

// money formats integer minor units; only the formatter divides.
export function money(minor, currency) {
  const cur = (currency || 'cad').toUpperCase();
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: cur }).resolvedOptions().maximumFractionDigits;
  const f = new Intl.NumberFormat(locales[current], { style: 'currency', currency: cur });
  // BigInt keeps the integer exact; the formatter takes a decimal string.
  const n = BigInt(minor);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const scale = 10n ** BigInt(digits);
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(digits, '0');
  return f.format(`${neg ? '-' : ''}${whole}${digits ? '.' + frac : ''}`);
}

// parseMoney reads what a person types ("125", "125.5", "125,50") or what
// money() wrote ("$1,234.56", "1 234,56 $") as integer minor units (two
// decimals), or null. Thousands are grouped by spaces, or by the separator
// that is not the decimal one ("1,234.56", "1.234,56"). No floating point.
export function parseMoney(text) {
  const s = String(text).trim().replace(/\s|\$/g, '');
  // "1.234" alone stays refused (three decimals): dots group thousands
  // only before a decimal comma.
  let m = /^(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$/.exec(s) || /^(\d{1,3}(?:\.\d{3})+),(\d{1,2})$/.exec(s);
  if (m) {
    m = [m[0], m[1].replace(/[.,]/g, ''), m[2]];
  } else {
    m = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(s);
  }
  if (!m || m[1].length > 9) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

export function date(iso) {
  if (!iso) return '—';
  const d = new Date(iso.length === 10 ? iso + 'T12:00:00Z' : iso);
  const opts = iso.length === 10 ? { dateStyle: 'long', timeZone: 'UTC' } : { dateStyle: 'medium', timeStyle: 'short' };
  return new Intl.DateTimeFormat(locales[current], opts).format(d);
}
