CREATE TABLE `agent_outages` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_outages_agent_id_started_at_idx` ON `agent_outages` (`agent_id`,`started_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `agent_outages_open_unique` ON `agent_outages` (`agent_id`) WHERE "ended_at" IS NULL;--> statement-breakpoint
ALTER TABLE `escalations` ADD `failures` integer DEFAULT 0 NOT NULL;