"""liveseg.video"""
