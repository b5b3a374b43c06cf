ALTER TABLE `task_chunks` ADD `attempt` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `cancel_notice_at` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `attempt` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `parent_outputs` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `handoffs` text;--> statement-breakpoint
CREATE INDEX `tasks_cancel_notice_idx` ON `tasks` (`assigned_to`) WHERE "cancel_notice_at" IS NOT NULL;