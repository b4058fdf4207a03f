CREATE TABLE "oauth_login_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "oauth_login_codes_provider_check" CHECK (provider IN ('google', 'github', 'facebook'))
);
--> statement-breakpoint
ALTER TABLE "oauth_login_codes" ADD CONSTRAINT "oauth_login_codes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "oauth_login_codes_user_id_idx" ON "oauth_login_codes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "oauth_login_codes_expires_at_idx" ON "oauth_login_codes" USING btree ("expires_at");