PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_task_chunks` (
	`task_id` text NOT NULL,
	`seq` integer NOT NULL,
	`content` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	PRIMARY KEY(`task_id`, `attempt`, `seq`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "task_chunks_seq_check" CHECK("seq" >= 0),
	CONSTRAINT "task_chunks_attempt_check" CHECK("attempt" >= 1)
);
--> statement-breakpoint
INSERT INTO `__new_task_chunks`("task_id", "seq", "content", "created_at", "attempt") SELECT "task_id", "seq", "content", "created_at", "attempt" FROM `task_chunks`;--> statement-breakpoint
DROP TABLE `task_chunks`;--> statement-breakpoint
ALTER TABLE `__new_task_chunks` RENAME TO `task_chunks`;--> statement-breakpoint
PRAGMA foreign_keys=ON;