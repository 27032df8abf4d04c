-- Personal data (issue 3): an account's export reads the audit entries that name it as their target
-- and the messages addressed to its phone; deleting an account removes those messages.
-- Never edit once landed; add a new migration instead.
CREATE INDEX audit_log_target ON audit_log (target, at);
CREATE INDEX outbox_recipient ON outbox (recipient);
