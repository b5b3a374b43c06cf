ALTER TABLE `agents` ADD `instance_id` text;--> statement-breakpoint
ALTER TABLE `agents` ADD `poll_lost_at` integer;