CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`expire` integer
);
--> statement-breakpoint
CREATE TABLE `sweeper_runs` (
	`kind` text PRIMARY KEY NOT NULL,
	`claimed_at` integer NOT NULL,
	`claimed_by` text NOT NULL,
	`finished_at` integer,
	`every_ms` integer NOT NULL,
	`last_error` text
);
--> statement-breakpoint
ALTER TABLE `agent_tokens` ADD `capabilities` text;--> statement-breakpoint
ALTER TABLE `agents` ADD `allowed_capabilities` text;--> statement-breakpoint
ALTER TABLE `agents` ADD `draining` integer DEFAULT false NOT NULL;