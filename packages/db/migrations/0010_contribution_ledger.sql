CREATE TABLE `ledger_entries` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`task_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`agent_id` text NOT NULL,
	`job_type` text NOT NULL,
	`outcome` text NOT NULL,
	`units` integer NOT NULL,
	`rule` text NOT NULL,
	`basis` text NOT NULL,
	`explanation` text NOT NULL,
	`validation_method` text NOT NULL,
	`checked_by` text,
	`streak_before` integer NOT NULL,
	`check_probability` real NOT NULL,
	`validation_reason` text NOT NULL,
	`signed` integer NOT NULL,
	`key_id` text,
	`input_sha256` text NOT NULL,
	`output_sha256` text NOT NULL,
	`leaf_index` integer NOT NULL,
	`entry_hash` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ledger_entries_outcome_check" CHECK("outcome" IN ('valid', 'trusted', 'invalid', 'unsupported')),
	CONSTRAINT "ledger_entries_validation_method_check" CHECK("validation_method" IN ('recompute', 'adaptive_trust', 'none')),
	CONSTRAINT "ledger_entries_units_check" CHECK("units" >= 0),
	CONSTRAINT "ledger_entries_check_probability_check" CHECK("check_probability" BETWEEN 0 AND 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_entries_id_unique` ON `ledger_entries` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_entries_leafIndex_unique` ON `ledger_entries` (`leaf_index`);--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_entries_task_attempt_unique` ON `ledger_entries` (`task_id`,`attempt`);--> statement-breakpoint
CREATE INDEX `ledger_entries_agent_idx` ON `ledger_entries` (`agent_id`,`seq`);--> statement-breakpoint
CREATE INDEX `ledger_entries_created_idx` ON `ledger_entries` (`created_at`);--> statement-breakpoint
CREATE TABLE `node_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`public_key` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`approved_at` integer,
	`revoked_at` integer,
	`revoked_reason` text,
	CONSTRAINT "node_keys_status_check" CHECK("status" IN ('pending', 'active', 'revoked'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `node_keys_one_current_per_agent` ON `node_keys` (`agent_id`) WHERE "status" IN ('active', 'pending');--> statement-breakpoint
CREATE INDEX `node_keys_agent_idx` ON `node_keys` (`agent_id`);--> statement-breakpoint
CREATE TABLE `result_envelopes` (
	`task_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`agent_id` text NOT NULL,
	`key_id` text NOT NULL,
	`envelope` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`task_id`, `attempt`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`key_id`) REFERENCES `node_keys`(`key_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `validation_streaks` (
	`agent_id` text NOT NULL,
	`job_type` text NOT NULL,
	`consecutive_valid` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`agent_id`, `job_type`),
	CONSTRAINT "validation_streaks_consecutive_valid_check" CHECK("consecutive_valid" >= 0)
);
--> statement-breakpoint
ALTER TABLE `tasks` ADD `excluded_agents` text;