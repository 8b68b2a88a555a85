"""Admin: sign-in, users, roles, and the pages of Sở Nội vụ and statisticians."""
