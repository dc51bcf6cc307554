"""The helpdesk's setup, for supervisors: business calendars, SLA policies, routing rules and canned replies
(pages under /inbox/settings/ and /api/v1/inbox/...); the rules live in ``inbox.services.setup``."""
