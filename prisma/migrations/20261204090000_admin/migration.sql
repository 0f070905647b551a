-- AlterTable
ALTER TABLE `users` ADD COLUMN `disabled_at` DATETIME(3) NULL,
    ADD COLUMN `disabled_reason` VARCHAR(200) NULL;

-- CreateIndex
CREATE INDEX `users_role_disabled_at_idx` ON `users`(`role`, `disabled_at`);

-- CreateIndex
CREATE INDEX `auth_events_user_id_type_id_idx` ON `auth_events`(`user_id`, `type`, `id`);
